"""The lossless `original`: a web-ready JPEG keeps its own compressed stream, without metadata.

Upright, 8-bit, sRGB or untagged: `original` is the upload's entropy-coded data with only the
segments decoding needs, so its pixels are exactly the upload's and it is never bigger. Anything
else is re-encoded as before.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops

from shared.variants import DEFAULT_VARIANTS, VariantSpec
from tests.fixtures import images
from worker import engine
from worker.formats import jpeg

pytestmark = pytest.mark.unit

ORIGINAL = VariantSpec(name="original")
METADATA = (
    b"Exif",
    b"xmpmeta",
    b"Photoshop 3.0",
    b"8BIM",
    b"a private comment",
    b"ICC_PROFILE",
    b"MPF",
    b"JFXX",
)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _with_metadata(base: bytes, *, icc: bytes | None = None, orientation: int = 1) -> bytes:
    """`base` with JFIF (and a thumbnail), JFXX, EXIF, XMP, IPTC, a comment, MPF, an optional ICC
    profile, and a second picture appended after EOI, as phones write them."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    thumbnail = bytes(2 * 2 * 3)
    segments = [
        _segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x02\x02" + thumbnail),
        _segment(0xE0, b"JFXX\x00\x13" + bytes(8)),
        _segment(0xE1, exif.tobytes()),  # Pillow writes the "Exif" header itself
        _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>secret</x:xmpmeta>"),
        _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04" + bytes(12)),
        _segment(0xFE, b"a private comment"),
        _segment(0xE2, b"MPF\x00" + bytes(16)),
    ]
    if icc is not None:
        segments.append(_segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + icc))
    return base[:2] + b"".join(segments) + base[2:] + images.tiny_jpeg()


def _with_restart_markers(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(images.photo_png(width, height))).convert("RGB").save(
        buffer, "JPEG", quality=90, restart_marker_rows=1
    )
    assert b"\xff\xdd" in buffer.getvalue()  # DRI: RSTn markers inside the scan
    return buffer.getvalue()


def _pixels(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.mark.parametrize(
    "base",
    [
        lambda: images.photo_jpeg(640, 480),
        lambda: images._photo_image(640, 480).jpegsave_buffer(interlace=True),
        lambda: _with_restart_markers(640, 480),
    ],
    ids=["baseline", "progressive", "restart-markers"],
)
@pytest.mark.parametrize("icc", [None, "srgb"], ids=["untagged", "srgb-tagged"])
def test_a_web_ready_jpeg_keeps_its_own_stream_without_metadata(
    base: Callable[[], bytes], icc: str | None
) -> None:
    # Given an upright 8-bit JPEG full of metadata (and an sRGB profile or none)
    upload = _with_metadata(base(), icc=images.icc_profile(icc) if icc else None)
    # When the default variants are made
    result = engine.render(upload, DEFAULT_VARIANTS)
    original = result.variants[0]
    # Then `original` has exactly the upload's pixels, and no metadata is left
    assert original.name == "original" and original.format == "jpeg"
    assert ImageChops.difference(_pixels(original.data), _pixels(upload)).getbbox() is None
    assert not any(marker in original.data for marker in METADATA)
    assert (
        not _pixels(original.data).getexif()
        and "icc_profile" not in Image.open(io.BytesIO(original.data)).info
    )
    # And it is smaller than the upload, ends at its own EOI, and its size is what the manifest says
    assert len(original.data) < len(upload) and original.data.endswith(b"\xff\xd9")
    assert (original.width, original.height) == _pixels(original.data).size == (640, 480)
    assert original.data.count(b"\xff\xd8") == 1  # the appended picture is gone


def test_the_kept_stream_has_only_what_decoding_needs() -> None:
    upload = _with_metadata(images.photo_jpeg(320, 240))
    kept = engine.render(upload, [ORIGINAL]).variants[0].data
    markers = {segment.marker for segment in jpeg.layout(kept).header}
    assert markers <= {0xE0, 0xDB, 0xC0, 0xC4, 0xDD, 0xEE}
    jfif = next(s for s in jpeg.layout(kept).header if s.marker == 0xE0)
    assert jfif.payload(kept)[12:14] == b"\x00\x00"  # no thumbnail


@pytest.mark.parametrize(
    ("upload", "why"),
    [
        (lambda: _with_metadata(images.photo_jpeg(320, 240), orientation=6), "turned"),
        (lambda: _with_metadata(images.photo_jpeg(320, 240), icc=images.icc_profile("p3")), "display-p3"),
        (lambda: images.cmyk_jpeg(True), "cmyk"),
        (lambda: images.photo_png(320, 240), "not-a-jpeg"),
    ],
    ids=["orientation-6", "display-p3", "cmyk", "png"],
)
def test_anything_else_is_re_encoded(upload: Callable[[], bytes], why: str) -> None:
    data = upload()
    original = engine.render(data, [ORIGINAL]).variants[0]
    assert original.format == "jpeg"
    assert not any(marker in original.data for marker in METADATA), why
    # A re-encode by libvips: its own quantisation tables, not the upload's scan
    assert original.data[-2000:] not in data


def test_a_watermarked_or_smaller_full_size_variant_is_rendered() -> None:
    upload = images.photo_jpeg(320, 240)
    smaller = engine.render(upload, [VariantSpec(name="v", width=100)]).variants[0]
    assert smaller.width == 100


def test_a_damaged_scan_is_refused_even_when_only_the_original_is_asked_for() -> None:
    # Given an upload whose scan is cut by a stray EOI (libjpeg warns and fills grey)
    data = bytearray(images.photo_jpeg(800, 600))
    data[len(data) // 2 : len(data) // 2 + 2] = b"\xff\xd9"
    # When only `original` is made (no variant needs a decode), then it is still decoded and refused
    with pytest.raises(Exception, match="Corrupt JPEG data|premature"):
        engine.render(bytes(data), [ORIGINAL])
