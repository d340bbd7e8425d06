"""A WebP's claimed size is checked from its bytes, before libvips reads its header.

libvips' WebP loader allocates the whole canvas while reading the header: a 44-byte file
claiming 16383x16383 (268 MP, over the 100 MP default) reserved 1 GB, and where that could not be
had the upload ended as "out of memory" (`CorruptImage`) instead of `ImageTooLarge`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import pyvips

from shared.errors import ImageTooLarge
from shared.limits import Limits
from tests.fixtures import decoder_edges, images
from worker import engine
from worker.formats.sniff import webp_size

pytestmark = pytest.mark.unit

KINDS = ["lossless", "lossy", "animated"]
CLAIM = "16383x16383 is 268402689 pixels, over the limit of 100000000"


@pytest.mark.parametrize("kind", KINDS)
def test_a_claimed_size_over_the_limit_is_refused_before_libvips_reads_the_header(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # Given a WebP whose header claims 16383x16383, and a libvips that must not be asked
    data = decoder_edges.webp_claiming(16383, 16383, kind)
    assert len(data) < 200

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("libvips read the header of a file its bytes already ruled out")

    monkeypatch.setattr(pyvips.Image, "new_from_buffer", refuse)
    # When it is probed, then it is too large, with the numbers
    with pytest.raises(ImageTooLarge, match=CLAIM):
        engine.probe(data, Limits())


@pytest.mark.parametrize("kind", KINDS)
def test_the_claimed_size_is_read_from_each_kind_of_webp(kind: str) -> None:
    assert webp_size(decoder_edges.webp_claiming(5000, 3000, kind)) == (5000, 3000)


def test_real_webps_are_read_as_libvips_reads_them() -> None:
    for data in (images.photo_webp(320, 240), images.animated_webp()):
        header = pyvips.Image.new_from_buffer(data, "")  # the first frame of an animation
        assert webp_size(data) == (header.width, header.height)


@pytest.mark.parametrize(
    "data",
    [
        b"RIFF\x04\x00\x00\x00WEBP",
        b"RIFF\xff\xff\xff\xffWEBPVP8L\x05\x00",
        b"RIFF\x10\x00\x00\x00WEBPVP8 \xff",
    ],
    ids=["no-chunks", "cut-vp8l", "cut-vp8"],
)
def test_an_unreadable_header_is_left_to_libvips(data: bytes) -> None:
    assert webp_size(data) is None


_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from shared.limits import Limits
    from tests.fixtures import decoder_edges, images
    from worker import engine

    engine.probe(images.photo_webp(64, 48), Limits())  # libvips' threads and arenas exist now
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    reserved = int(status["VmSize"].split()[0]) * 1024
    # Room for any header read the pixel limit allows, not for a 1 GB canvas.
    resource.setrlimit(resource.RLIMIT_AS, (reserved + 768 * 2**20, resource.RLIM_INFINITY))
    try:
        engine.probe(decoder_edges.webp_claiming(16383, 16383, sys.argv[1]), Limits())
        print(json.dumps(["accepted", ""]))
    except Exception as exc:
        print(json.dumps([type(exc).__name__, str(exc)]))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, limits the address space")
@pytest.mark.parametrize("kind", ["lossless", "animated"])
def test_where_a_gigabyte_cannot_be_had_the_upload_is_too_large_not_out_of_memory(kind: str) -> None:
    # Given a worker that cannot reserve 1 GB more than it holds (as in a 1 GB Lambda)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, kind], capture_output=True, text=True, timeout=60, check=True
    )
    # When it probes the 16383x16383 claim, then it refuses it as too large, with the numbers
    error_type, message = json.loads(child.stdout.splitlines()[-1])
    assert (error_type, message) == ("ImageTooLarge", CLAIM)
