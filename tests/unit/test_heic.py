"""Phone HEIC (HEVC): decoded through pi-heif, upright, colour-managed, stripped, and guarded by
the same sniffing and header limits as every other format before a pixel is decoded."""

from __future__ import annotations

import io

import pi_heif
import pytest
from PIL import Image

from shared.errors import ImageTooLarge
from shared.limits import Limits
from shared.variants import DEFAULT_VARIANTS, VariantSpec
from tests.fixtures import edge_images, images
from tests.fixtures.pixels import pixel
from worker import engine
from worker.engine import heif
from worker.formats.heif_orientation import exif_orientation, primary_rotation

pytestmark = pytest.mark.unit

METADATA = (b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"ICC_PROFILE")


def _decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_heic_renders_upright_whatever_the_phone_held(orientation: int) -> None:
    # Given a HEIC stored turned, with irot and EXIF orientation as the encoder writes them
    data = edge_images.heic(240, 160, orientation)
    # When rendered at full size
    result = engine.render(data, [VariantSpec(name="original")])
    picture = _decode(result.variants[0].data)
    # Then it is upright: landscape, the red marker in the top-left quadrant
    assert result.source.format == "heif"
    assert picture.size == (240, 160)
    assert _near(pixel(picture, (50, 40)), images.MARKER_COLOUR)
    assert _near(pixel(picture, (200, 130)), images.ORIENTED_BACKGROUND)


def test_an_irot_that_contradicts_exif_orientation_1_is_undone() -> None:
    # Given what some Android phones write: upright pixels, irot 270 degrees, EXIF orientation 1
    data = edge_images.heic_irot_over_upright_pixels()
    assert primary_rotation(data) == 3
    # When rendered, then the EXIF orientation wins: the photo is not turned on its side
    picture = _decode(engine.render(data, [VariantSpec(name="original")]).variants[0].data)
    assert picture.size == images.ORIENTED_SIZE
    assert _near(pixel(picture, (50, 40)), images.MARKER_COLOUR)


def test_heic_is_converted_from_its_icc_profile_to_srgb() -> None:
    # Given the same picture with and without a Display P3 profile
    untagged = edge_images.heic(240, 160, 1)
    p3 = edge_images.heic(240, 160, 1, icc="p3")
    # When both are rendered, then the P3 one went through the P3 -> sRGB transform
    plain = pixel(_decode(engine.render(untagged, [VariantSpec(name="o")]).variants[0].data), (50, 40))
    managed = pixel(_decode(engine.render(p3, [VariantSpec(name="o")]).variants[0].data), (50, 40))
    assert plain != managed
    assert managed[0] > plain[0]  # P3's red is redder than sRGB's: it lands beyond it, clipped high


def test_heic_variants_carry_no_metadata() -> None:
    # Given a HEIC with EXIF and an ICC profile
    data = edge_images.heic(240, 160, 6, icc="p3")
    assert exif_orientation(pi_heif.open_heif(data).info["exif"]) == 6
    for rendition in engine.render(data, DEFAULT_VARIANTS).variants:
        assert not any(marker in rendition.data for marker in METADATA), rendition.name
        assert not _decode(rendition.data).getexif()


def test_heic_header_limits_apply_before_any_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a decoder that must not run
    def refuse(_header: heif.Header) -> None:
        raise AssertionError("decoded a picture the header already ruled out")

    monkeypatch.setattr(heif, "decode", refuse)
    # When the header is over the pixel limit, then it is refused from the header alone
    with pytest.raises(ImageTooLarge, match="pixels"):
        engine.render(edge_images.heic_photo(640, 480), DEFAULT_VARIANTS, Limits(max_pixels=640 * 480 - 1))


def test_heic_probe_reads_the_header() -> None:
    info = engine.probe(edge_images.heic_photo(640, 480), Limits())
    assert (info.format, info.width, info.height, info.orientation, info.has_alpha) == (
        "heif",
        640,
        480,
        1,
        False,
    )


def test_avif_still_goes_through_libvips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heif, "open_header", lambda _data: pytest.fail("AVIF reached pi-heif"))
    result = engine.render(edge_images.flat_avif(64, 48, 10), [VariantSpec(name="o")])
    assert result.source.format == "avif" and result.source.bits == 10
    assert _decode(result.variants[0].data).size == (64, 48)
