"""libjpeg-turbo decodes and encodes the JPEGs it can, with libvips' pixels and geometry; every
JPEG it finds fault with, or does not take, is left to libvips and its reasons."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import pyvips

from shared.errors import CorruptImage
from shared.variants import DEFAULT_VARIANTS, VariantSpec
from tests.fixtures import edge_images, images
from worker import engine
from worker.engine import load, ops, turbo
from worker.formats.geometry import Size

pytestmark = pytest.mark.unit


def _header(data: bytes) -> pyvips.Image:
    header = load.open_source(data, "jpeg").header
    assert header is not None  # a JPEG is opened by libvips, so it always has one
    return header


def _libvips(data: bytes, shrink: int) -> pyvips.Image:
    return (
        pyvips.Image.new_from_buffer(data, "", shrink=shrink)
        if shrink > 1
        else pyvips.Image.new_from_buffer(data, "")
    )


@pytest.mark.parametrize("shrink", [1, 2, 4, 8])
@pytest.mark.parametrize(
    "make",
    [
        lambda: images.photo_jpeg(1001, 777),
        lambda: images.photo_jpeg(640, 480, quality=95),
        lambda: images._photo_image(999, 601).jpegsave_buffer(Q=85, interlace=True),
        lambda: images.grey_jpeg(333, 257),
    ],
    ids=["baseline-odd-size", "baseline-444", "progressive", "grey"],
)
def test_the_fast_decode_gives_libvips_pixels_at_libvips_size(make: Callable[[], bytes], shrink: int) -> None:
    # Given a clean JPEG
    data = make()
    # When libjpeg-turbo decodes it at a shrink-on-load scale
    fast = turbo.decode(data, _header(data), shrink)
    # Then it did, and the picture is the one libvips decodes, pixel for pixel
    assert fast is not None and ops.in_memory(fast)
    slow = _libvips(data, shrink)
    assert (fast.width, fast.height, fast.bands) == (slow.width, slow.height, slow.bands)
    assert (fast - slow).abs().max() == 0


def test_it_keeps_the_metadata_later_steps_read() -> None:
    # Given a rotated JPEG with an ICC profile
    data = images.oriented_photo_jpeg(400, 300, 6)
    header = _header(data)
    # When it is decoded fast
    fast = turbo.decode(data, header, 1)
    # Then orientation and colour facts are the header's
    assert fast is not None
    assert fast.get("orientation") == 6 and fast.interpretation == header.interpretation


def test_a_big_photo_decodes_at_three_eighths_when_that_still_covers_the_variants() -> None:
    # Given a 4000x3000 photo whose largest variant needs 1200x900
    data = images.photo_jpeg(4000, 3000)
    header = _header(data)
    # When it is decoded for them
    fast = turbo.decode(data, header, 2, covering=Size(1200, 900))
    # Then libjpeg-turbo scaled it by 3/8, between libvips' 1/2 and 1/4
    assert fast is not None and (fast.width, fast.height) == (1500, 1125)
    # And not when 3/8 would be smaller than needed
    needs_more = turbo.decode(data, header, 2, covering=Size(1600, 1200))
    assert needs_more is not None and (needs_more.width, needs_more.height) == (2000, 1500)


@pytest.mark.parametrize(
    "make",
    [images.truncated_jpeg, edge_images.bitflipped_jpeg],
    ids=["truncated", "bit-flipped"],
)
def test_damage_is_refused_with_libjpegs_reason_or_left_to_libvips(make: Callable[[], bytes]) -> None:
    # Given a damaged JPEG: truncated (libjpeg warns) or with a bit flipped into a marker (an error)
    data = make()
    header = _header(data)
    # Then the fast decode refuses the first with libjpeg's warning and leaves the other to libvips
    try:
        declined = turbo.decode(data, header, 1) is None
    except CorruptImage as refused:
        declined = False
        assert "Premature end of JPEG file" in str(refused)
    assert declined == (make is edge_images.bitflipped_jpeg)
    # And the render is refused either way
    with pytest.raises(CorruptImage):
        engine.render(data, DEFAULT_VARIANTS)


def test_cmyk_is_left_to_libvips() -> None:
    data = images.cmyk_jpeg(with_profile=False)
    assert turbo.decode(data, _header(data), 1) is None


@pytest.mark.parametrize(
    ("quality", "subsampling"), [(85, "4:2:0"), (90, "4:4:4")], ids=["below-90", "from-90"]
)
def test_the_fast_encode_follows_libvips_settings(quality: int, subsampling: str) -> None:
    # Given an sRGB picture
    picture = images._photo_image(640, 480)
    # When libjpeg-turbo encodes it
    data = turbo.encode(picture, quality)
    # Then it is a JPEG of the picture, chroma subsampled as libvips' `auto` would
    assert data is not None
    decoded = pyvips.Image.new_from_buffer(data, "")
    assert (decoded.width, decoded.height, decoded.bands) == (640, 480, 3)
    assert decoded.get("jpeg-chroma-subsample") == subsampling
    # And as faithful, and as small, as libvips' own encode with the engine's settings
    theirs = picture.jpegsave_buffer(Q=quality, optimize_coding=False, keep="none")
    error = (decoded - picture).abs().avg()
    assert error <= 1.05 * (pyvips.Image.new_from_buffer(theirs, "") - picture).abs().avg()
    assert len(data) <= 1.05 * len(theirs)


def test_a_grey_picture_encodes_as_grey_and_other_layouts_go_to_libvips() -> None:
    grey = pyvips.Image.new_from_buffer(images.grey_jpeg(120, 80), "")
    data = turbo.encode(grey, 85)
    assert data is not None and pyvips.Image.new_from_buffer(data, "").bands == 1
    assert turbo.encode(grey.cast("ushort"), 85) is None
    assert turbo.encode(grey.bandjoin([grey, grey, grey]), 85) is None  # CMYK-like 4 bands


def test_a_render_through_both_paths_gives_the_same_variants() -> None:
    # Given a rotated photo and the resized variants, rendered fast and through libvips alone
    data = images.oriented_photo_jpeg(1200, 900, 6)
    specs = [
        VariantSpec(name="large", width=800, height=800),
        VariantSpec(name="small", width=200, height=200),
    ]
    fast = engine.render(data, specs)
    decode, encode = turbo.decode, turbo.encode
    try:
        turbo.decode = lambda *args, **kwargs: None
        turbo.encode = lambda *args, **kwargs: None
        slow = engine.render(data, specs)
    finally:
        turbo.decode, turbo.encode = decode, encode
    # Then each variant has the same size and, within JPEG's rounding, the same pixels
    for a, b in zip(fast.variants, slow.variants, strict=True):
        assert (a.width, a.height) == (b.width, b.height)
        diff = pyvips.Image.new_from_buffer(a.data, "") - pyvips.Image.new_from_buffer(b.data, "")
        assert diff.abs().avg() < 1.5


@pytest.mark.parametrize(("width", "height"), [(7, 7), (64, 7), (1, 1)])
def test_a_jpeg_smaller_than_8_pixels_renders(width: int, height: int) -> None:
    # Given a valid JPEG too small for the 1/8-scale damage check of a kept original
    data = images.photo_jpeg(width, height)
    # Then it renders every variant, each its own size at most
    result = engine.render(data, DEFAULT_VARIANTS)
    assert [(v.width, v.height) for v in result.variants][0] == (width, height)
