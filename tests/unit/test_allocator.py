"""The allocator setting: a render's big buffers are reused by the next render, not faulted in again."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.fixtures import images
from worker.engine.allocator import keep_freed_buffers

pytestmark = pytest.mark.unit

# A progressive 24 MP JPEG: its decode holds a 48 MB coefficient buffer for the luma alone,
# above the 32 MB that glibc's own threshold ever rises to.
_RENDER_TWICE = textwrap.dedent(
    """
    import ctypes, json, resource, sys
    from shared.variants import DEFAULT_VARIANTS
    from worker import engine
    if sys.argv[1] == "glibc-defaults":  # undo the engine's setting: mmap threshold, trim threshold
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 128 * 1024)
        libc.mallopt(-1, 128 * 1024)
    engine.set_threads(1)
    data = sys.stdin.buffer.read()
    engine.render(data, DEFAULT_VARIANTS[1:])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    engine.render(data, DEFAULT_VARIANTS[1:])
    print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
    """
)


def _second_render_faults(mode: str) -> int:
    photo = images._photo_image(6000, 4000).jpegsave_buffer(Q=85, interlace=True, keep="none")
    done = subprocess.run(
        [sys.executable, "-c", _RENDER_TWICE, mode], input=photo, capture_output=True, check=True
    )
    return int(json.loads(done.stdout))


def test_glibc_takes_the_setting() -> None:
    # Given this machine's glibc, When the engine tunes it, Then every mallopt call is accepted
    assert keep_freed_buffers() is True


def test_a_second_render_reuses_the_first_ones_memory() -> None:
    # Given a progressive 24 MP JPEG rendered once in a fresh process
    # When it is rendered again, with the engine's setting and with glibc's defaults
    tuned, defaults = _second_render_faults("engine"), _second_render_faults("glibc-defaults")
    # Then glibc's defaults fault the coefficient buffer in again (48 MB: ~12,000 pages of 4 KB;
    # 24,500 measured), and the engine's second render a fifth of that at most (2,000 measured)
    assert defaults > 12_000, defaults
    assert tuned * 5 < defaults, (tuned, defaults)
