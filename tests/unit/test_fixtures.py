"""Self-checks of the fixture generators, judged with Pillow, so engine tests rest on solid inputs."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageOps, ImageStat

from tests.fixtures import images
from tests.fixtures.pixels import pixel

pytestmark = pytest.mark.unit


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
def test_oriented_jpeg_displays_as_the_upright_image(orientation: int) -> None:
    stored = decode(images.oriented_jpeg(orientation))
    assert stored.getexif()[ExifTags.Base.Orientation] == orientation
    expected_stored = images.ORIENTED_SIZE[::-1] if orientation >= 5 else images.ORIENTED_SIZE
    assert stored.size == expected_stored
    # exif_transpose is what a viewer does: it must give back the upright picture
    shown = ImageOps.exif_transpose(stored)
    assert shown.size == images.ORIENTED_SIZE
    difference = ImageChops.difference(shown.convert("RGB"), images.upright_oriented_image())
    assert max(ImageStat.Stat(difference).mean) < 3  # JPEG noise only, concentrated on edges
    left, top, right, bottom = images.MARKER_BOX
    assert pixel(shown, ((left + right) // 2, (top + bottom) // 2))[0] > 180
    if orientation != 1:
        # and the stored pixels really are transformed (the marker is not already top-left)
        assert stored.getpixel((56, 40)) != shown.getpixel((56, 40)) or stored.size != shown.size


def test_oriented_photo_jpeg_carries_the_tag() -> None:
    stored = decode(images.oriented_photo_jpeg(200, 300, 6))
    assert stored.size == (200, 300) and stored.getexif()[ExifTags.Base.Orientation] == 6


@pytest.mark.parametrize(("width", "height"), [(800, 600), (12, 9), (3000, 2000)])
def test_photo_jpeg_is_photo_like(width: int, height: int) -> None:
    image = decode(images.photo_jpeg(width, height))
    assert image.format == "JPEG" and image.mode == "RGB" and image.size == (width, height)
    if width > 100:
        assert all(stddev > 20 for stddev in ImageStat.Stat(image).stddev)  # not a flat colour
    assert images.photo_jpeg(width, height) is images.photo_jpeg(width, height)  # cached


def test_panorama_and_tiny_sizes() -> None:
    assert decode(images.panorama_jpeg()).size == (9000, 500)
    assert decode(images.tiny_jpeg()).size == (12, 9)


def test_metadata_jpeg_has_exif_gps_and_xmp() -> None:
    image = decode(images.metadata_jpeg())
    exif = image.getexif()
    assert exif[ExifTags.Base.Make] == "TestCam"
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] == "2024:01:02 03:04:05"
    assert b"Secret Photographer" in image.info["xmp"]


@pytest.mark.parametrize("with_profile", [True, False])
def test_cmyk_jpeg(with_profile: bool) -> None:
    image = decode(images.cmyk_jpeg(with_profile))
    assert image.mode == "CMYK" and image.size == images.SWATCH_SIZE
    assert ("icc_profile" in image.info) is with_profile
    if with_profile:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        assert profile.profile.xcolor_space.strip() == "CMYK"


def test_p3_jpeg_embeds_a_p3_profile() -> None:
    image = decode(images.p3_jpeg())
    assert image.mode == "RGB"
    assert image.info["icc_profile"] == images.icc_profile("p3")


@pytest.mark.parametrize(
    ("factory", "mode", "depth", "colour_type"),
    [(images.rgb16_png, "RGB", 16, 2), (images.grey16_png, "I;16", 16, 0), (images.rgba_png, "RGBA", 8, 6)],
    ids=["rgb16", "grey16", "rgba"],
)
def test_png_variants(factory: Callable[[], bytes], mode: str, depth: int, colour_type: int) -> None:
    data = factory()
    assert data[12:16] == b"IHDR" and (data[24], data[25]) == (depth, colour_type)
    assert decode(data).mode.startswith(mode)


def test_rgba_png_has_transparent_and_opaque_halves() -> None:
    image = decode(images.rgba_png())
    width, height = images.RGBA_SIZE
    assert image.getpixel((width // 4, height // 2)) == (*images.RGBA_OPAQUE, 255)
    assert pixel(image, (3 * width // 4, height // 2))[3] == 0


def test_grey_jpeg_is_single_channel() -> None:
    assert decode(images.grey_jpeg()).mode == "L"


@pytest.mark.parametrize("factory", [images.animated_gif, images.animated_webp], ids=["gif", "webp"])
def test_animations_have_one_colour_per_frame(factory: Callable[[], bytes]) -> None:
    image = Image.open(io.BytesIO(factory()))
    assert getattr(image, "n_frames", 1) == len(images.FRAME_COLOURS) >= 3
    for index, colour in enumerate(images.FRAME_COLOURS):
        image.seek(index)
        frame = pixel(image.convert("RGB"), (10, 10))
        assert all(abs(a - b) <= 8 for a, b in zip(frame, colour, strict=True)), (index, frame)


def test_png_header_bomb_is_well_formed_but_tiny() -> None:
    data = images.png_header_bomb()
    assert len(data) < 200
    assert data[:8] == images.PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    payload = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert kind == b"IHDR" and crc == zlib.crc32(kind + payload)
    assert struct.unpack(">II", payload[:8]) == (60_000, 60_000)
    assert data.endswith(b"IEND\xaeB`\x82")


def test_jpeg_header_bomb_claims_65000_square() -> None:
    data = images.jpeg_header_bomb()
    assert len(data) < 2000
    assert images.jpeg_sof_size(data) == (65_000, 65_000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))


def test_truncated_jpeg_is_half_a_real_one() -> None:
    whole = images.photo_jpeg(800, 600)
    cut = images.truncated_jpeg()
    assert whole.startswith(cut) and len(cut) == len(whole) // 2 and not cut.endswith(b"\xff\xd9")


def test_non_images() -> None:
    assert b"<svg" in images.svg_document()
    assert images.text_document().decode("ascii")
    assert images.random_bytes() == images.random_bytes() != images.random_bytes(seed=1)
    assert len(images.random_bytes(100)) == 100
