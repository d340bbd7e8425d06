"""What browsers show whole renders, with the warning recorded; what is damaged is still refused.

A JPEG with bytes between header segments and a TIFF with a tag libtiff cannot read are intact
pictures: they render and their `warnings` say what was odd. A truncated or bit-flipped JPEG
and a truncated TIFF are refused (`CorruptImage`), as libjpeg would otherwise fill them grey.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops

from shared.errors import CorruptImage
from shared.limits import Limits
from shared.variants import DEFAULT_VARIANTS, VariantSpec
from tests.fixtures import edge_images, images
from worker import engine
from worker.formats import jpeg
from worker.formats.sniff import sniff_format

pytestmark = pytest.mark.unit


def _pixels(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.mark.parametrize(
    ("fixture", "warning"),
    [
        (edge_images.jpeg_junk_before_marker, "4 extraneous bytes before marker 0xc0"),
        (lambda: edge_images.jpeg_junk_before_marker(b"\x00"), "1 extraneous bytes before marker 0xc0"),
        (edge_images.tiff_bogus_tag, "tag 65000"),
    ],
    ids=["jpeg-junk-before-sof", "jpeg-one-stray-byte", "tiff-bogus-tag"],
)
def test_intact_pictures_with_a_benign_warning_render_and_say_so(
    fixture: Callable[[], bytes], warning: str
) -> None:
    result = engine.render(fixture(), DEFAULT_VARIANTS)
    assert len(result.variants) == len(DEFAULT_VARIANTS)
    assert any(warning in text for text in result.warnings), result.warnings


def test_the_junk_is_dropped_and_the_picture_is_the_uploads() -> None:
    # Given the same JPEG with and without 4 bytes between its header segments
    clean = images.photo_jpeg(320, 240)
    junk = edge_images.jpeg_junk_before_marker()
    repaired, warnings = jpeg.repaired(junk)
    # Then the repair gives back exactly the clean file, and renders the same picture
    assert repaired == clean and len(warnings) == 1
    original = engine.render(junk, [VariantSpec(name="original")]).variants[0]
    assert ImageChops.difference(_pixels(original.data), _pixels(clean)).getbbox() is None


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        (images.truncated_jpeg, "(?i)premature end of JPEG"),
        (edge_images.bitflipped_jpeg, "Corrupt JPEG data"),
        (edge_images.jpeg_damaged_mid_scan, "Corrupt JPEG data"),
        (edge_images.truncated_tiff, "truncated or damaged"),
    ],
    ids=["jpeg-truncated", "jpeg-bit-flipped", "jpeg-damaged-mid-scan-12mp", "tiff-truncated"],
)
def test_damaged_pictures_are_still_refused(fixture: Callable[[], bytes], reason: str) -> None:
    with pytest.raises(CorruptImage, match=reason):
        engine.render(fixture(), DEFAULT_VARIANTS)


def test_a_clean_render_has_no_warnings() -> None:
    assert engine.render(images.photo_jpeg(320, 240), DEFAULT_VARIANTS).warnings == ()


@pytest.mark.parametrize("byte_order", [b"II+\x00", b"MM\x00+"], ids=["little-endian", "big-endian"])
def test_bigtiff_is_sniffed_as_tiff(byte_order: bytes) -> None:
    assert sniff_format(byte_order + bytes(12), Limits()) == "tiff"


def test_bigtiff_renders() -> None:
    data = edge_images.bigtiff(320, 240)
    assert data.startswith(b"II+\x00")
    result = engine.render(data, DEFAULT_VARIANTS)
    assert result.source.format == "tiff" and (result.source.width, result.source.height) == (320, 240)
    assert _pixels(result.variants[-1].data).size == (150, 150)
