"""The allocator setting: a render's big buffers are reused by the next render, not faulted in again."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap

import pytest

from tests.fixtures import images
from worker.engine.allocator import (
    _M_ARENA_MAX,
    _M_MMAP_THRESHOLD,
    _M_TRIM_THRESHOLD,
    HEAP_BLOCK_BYTES,
    KEEP_BYTES,
    OLDER_GLIBC_MAX,
    keep_freed_buffers,
)

pytestmark = pytest.mark.unit

ON_GLIBC = platform.libc_ver()[0] == "glibc"

# A progressive 24 MP JPEG: its decode holds a 48 MB coefficient buffer for the luma alone,
# above the 32 MB that glibc's own threshold ever rises to. "glibc-defaults" keeps the engine
# from touching the allocator at all (its module stands in for the real one before the import).
_RENDER_TWICE = textwrap.dedent(
    """
    import json, resource, sys, types
    if sys.argv[1] == "glibc-defaults":
        sys.modules["worker.engine.allocator"] = types.SimpleNamespace(keep_freed_buffers=lambda: 0)
    from shared.variants import DEFAULT_VARIANTS
    from worker import engine
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


class Glibc:
    """mallopt as a glibc that takes an mmap threshold up to `ceiling` (and every other value)."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.taken: list[tuple[int, int]] = []

    def __call__(self, param: int, value: int) -> int:
        if param == _M_MMAP_THRESHOLD and value > self.ceiling:
            return 0
        self.taken.append((param, value))
        return 1


@pytest.mark.parametrize(
    ("ceiling", "threshold"),
    [(1 << 40, HEAP_BLOCK_BYTES), (OLDER_GLIBC_MAX, OLDER_GLIBC_MAX)],
    ids=["glibc-2.35-and-later", "glibc-2.34-and-earlier"],
)
def test_the_threshold_is_the_largest_this_glibc_takes(ceiling: int, threshold: int) -> None:
    # Given a glibc that caps the mmap threshold (as 2.34 and earlier do at 32 MB) or does not
    glibc = Glibc(ceiling)
    # When the engine tunes it, Then it gets the biggest threshold it takes, then trim and arena
    assert keep_freed_buffers(glibc) == threshold
    assert glibc.taken == [(_M_MMAP_THRESHOLD, threshold), (_M_TRIM_THRESHOLD, KEEP_BYTES), (_M_ARENA_MAX, 1)]


def test_a_c_library_that_takes_no_threshold_is_left_as_it_is() -> None:
    # Given a C library whose mallopt takes no threshold (musl's takes nothing at all)
    glibc = Glibc(ceiling=0)
    # When the engine tunes it, Then nothing else is set: a trim threshold alone would pin
    # glibc's mmap threshold at 128 KB
    assert keep_freed_buffers(glibc) == 0
    assert glibc.taken == []


@pytest.mark.skipif(not ON_GLIBC, reason="glibc's allocator only")
def test_a_second_render_reuses_the_first_ones_memory() -> None:
    # Given this machine's glibc takes a threshold above the 48 MB buffer
    if keep_freed_buffers() < 48 << 20:
        pytest.skip("this glibc caps the mmap threshold below the 48 MB buffer")
    # When a progressive 24 MP JPEG is rendered twice, with the engine's setting and without it
    tuned, defaults = _second_render_faults("engine"), _second_render_faults("glibc-defaults")
    # Then glibc's defaults fault the coefficient buffer in again (48 MB: ~12,000 pages of 4 KB;
    # ~21,000 measured), and the engine's second render a fifth of that at most (~2,000)
    assert defaults > 12_000, defaults
    assert tuned * 5 < defaults, (tuned, defaults)
