"""The render's placeholder: a ThumbHash and a mean colour of the picture as its variants show it,
taken from the smallest variant that shows all of it.

Pictures are drawn with Pillow and judged with Pillow and the ThumbHash decoder (whose output is
checked against the reference in test_thumbhash.py), never with libvips.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from shared.variants import DEFAULT_VARIANTS, VariantSpec, Watermark
from tests.fixtures import images
from worker import engine
from worker.engine import placeholder
from worker.engine.results import Placeholder
from worker.formats import thumbhash
from worker.formats.geometry import Size, plan_variants

pytestmark = pytest.mark.unit

LEFT, RIGHT = (200, 40, 40), (30, 90, 220)


def _halves(width: int, height: int, fmt: str = "JPEG") -> bytes:
    """Left half one colour, right half another."""
    picture = Image.new("RGB", (width, height), RIGHT)
    picture.paste(LEFT, (0, 0, width // 2, height))
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def _mean_rgb(data: bytes) -> list[float]:
    with Image.open(io.BytesIO(data)) as picture:
        pixels = np.asarray(picture.convert("RGB"), dtype=np.float64)
    return [float(level) for level in pixels.reshape(-1, 3).mean(axis=0)]


def _hex(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


def _hint(data: bytes, specs: tuple[VariantSpec, ...] = DEFAULT_VARIANTS) -> Placeholder:
    result = engine.render(data, specs)
    assert result.placeholder is not None
    assert "placeholder" in result.timings_ms
    return result.placeholder


def test_a_render_carries_the_pictures_placeholder() -> None:
    # Given a landscape photo of two colours, When rendered with the defaults
    data = _halves(900, 600)
    hint = _hint(data)
    # Then the placeholder is from `small` (320 x 213) in 4 x 4 blocks: 80 x 53, tens of bytes
    assert (hint.width, hint.height) == (80, 53)
    encoded = base64.b64decode(hint.thumbhash, validate=True)
    assert 5 <= len(encoded) <= 25
    # its colour is the picture's mean, and the hash holds the same colour
    assert _hex(hint.color) == pytest.approx(_mean_rgb(data), abs=3)
    held = [255 * c for c in thumbhash.average_rgba(encoded)[:3]]
    assert held == pytest.approx(_mean_rgb(data), abs=6)
    # and it draws the red half on the left, the blue half on the right
    drawn = thumbhash.decode(encoded).astype(int)
    assert drawn[:, 2, 0].mean() > drawn[:, -3, 0].mean() + 60
    assert drawn[:, -3, 2].mean() > drawn[:, 2, 2].mean() + 60


def test_the_placeholder_is_upright() -> None:
    # Given a landscape-stored JPEG that displays as a portrait (EXIF orientation 6)
    hint = _hint(images.oriented_photo_jpeg(600, 400, 6))
    assert (hint.width, hint.height) == (53, 80)


def test_the_defaults_take_it_from_small() -> None:
    # `small` is the smallest variant that is not cut to a box (`thumbnail` is cover-cropped)
    plans = plan_variants(Size(3000, 2000), DEFAULT_VARIANTS)
    index = placeholder.plan_index(plans)
    assert index is not None and plans[index].spec.name == "small"


def test_a_cropped_variant_serves_only_when_nothing_shows_the_whole_picture() -> None:
    square = VariantSpec(name="square", width=150, height=150, fit="cover")
    wide = VariantSpec(name="wide", width=1200, height=1200)
    plans = plan_variants(Size(3000, 2000), (square, wide))
    index = placeholder.plan_index(plans)
    assert index is not None and plans[index].spec.name == "wide"
    # a config of crops only: the crop, which is still the picture's middle
    hint = _hint(_halves(900, 600), (square,))
    assert (hint.width, hint.height) == (75, 75)


def test_a_watermarked_variant_serves_only_when_every_variant_is() -> None:
    marked = VariantSpec(name="marked", width=320, height=320, watermark=Watermark(text="imgpipe"))
    plain = VariantSpec(name="plain", width=800, height=800)
    plans = plan_variants(Size(3000, 2000), (plain, marked))
    index = placeholder.plan_index(plans)
    assert index is not None and plans[index].spec.name == "plain"


def test_a_kept_stream_is_decoded_for_it() -> None:
    # Given an upright sRGB JPEG inside every box, every variant is its own stream, never decoded
    data = _halves(120, 80)
    result = engine.render(data, DEFAULT_VARIANTS)
    assert {r.data for r in result.variants} == {result.variants[0].data}
    # Then the placeholder comes from its bytes, at its own size
    assert result.placeholder is not None
    assert (result.placeholder.width, result.placeholder.height) == (100, 67)
    assert _hex(result.placeholder.color) == pytest.approx(_mean_rgb(data), abs=3)


def test_transparent_pixels_show_as_the_variants_show_them() -> None:
    picture = Image.new("RGBA", (400, 400), (0, 0, 255, 0))
    ImageDraw.Draw(picture).ellipse((100, 100, 300, 300), fill=(20, 160, 60, 255))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    data = buffer.getvalue()
    # JPEG variants are flattened on white: so is the placeholder, which has no alpha (also
    # beside a WebP variant, where the pixels are flattened for each JPEG's encode, not before)
    beside_webp = (VariantSpec(name="medium", width=800, height=800, format="auto"), DEFAULT_VARIANTS[3])
    for specs in (DEFAULT_VARIANTS, beside_webp):
        on_white = base64.b64decode(_hint(data, specs).thumbhash)
        assert not on_white[2] & 0x80
        assert thumbhash.decode(on_white)[0, 0, :3].min() > 200  # a white corner
    # `auto` keeps alpha (WebP): so does the placeholder, transparent in the corners
    kept = base64.b64decode(
        _hint(data, (VariantSpec(name="small", width=320, height=320, format="auto"),)).thumbhash
    )
    assert kept[2] & 0x80
    drawn = thumbhash.decode(kept)
    assert drawn[0, 0, 3] < 60 and drawn[16, 16, 3] > 200
    # and the colour is the opaque disc's: the hidden blue under transparent pixels adds nothing
    colour = _hex(_hint(data, (VariantSpec(name="small", width=320, height=320, format="auto"),)).color)
    assert colour == pytest.approx([20, 160, 60], abs=3)


def test_a_grey_picture_has_a_grey_placeholder() -> None:
    hint = _hint(images.grey_jpeg(200, 150))
    red, green, blue = _hex(hint.color)
    assert red == green == blue


@pytest.mark.parametrize(
    ("size", "fitted"),
    [((320, 213), (80, 53)), ((100, 40), (100, 40)), ((1600, 1067), (100, 66)), ((101, 7), (50, 3))],
)
def test_pixels_are_averaged_in_blocks_to_fit_100(size: tuple[int, int], fitted: tuple[int, int]) -> None:
    width, height = size
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[:, : width // 2] = (200, 40, 40, 255)
    rgba[:, width // 2 :] = (30, 90, 220, 255)
    small = placeholder._fitted(rgba)
    assert (small.shape[1], small.shape[0]) == fitted
    assert small[0, 0].tolist() == [200, 40, 40, 255] and small[-1, -1].tolist() == [30, 90, 220, 255]


def test_block_averages_weigh_colour_by_alpha() -> None:
    # Given 2 x 2 blocks of one opaque red pixel and three transparent blue ones
    rgba = np.tile(np.asarray([0, 0, 255, 0], np.uint8), (200, 200, 1))
    rgba[::2, ::2] = (255, 0, 0, 255)
    small = placeholder._fitted(rgba)
    # Then each block is red at a quarter of full alpha: the hidden blue adds nothing
    assert small.shape == (100, 100, 4)
    assert small[50, 50].tolist() == [255, 0, 0, 64]


@pytest.mark.parametrize(
    ("bands", "expected"),
    [
        ([90], [90, 90, 90, 255]),
        ([90, 128], [90, 90, 90, 128]),
        ([90, 255], [90, 90, 90, 255]),
        ([10, 20, 30], [10, 20, 30, 255]),
        ([10, 20, 30, 255], [10, 20, 30, 255]),
    ],
)
def test_grey_and_alpha_bands_become_rgba(bands: list[int], expected: list[int]) -> None:
    for size in (50, 300):  # as it is, and averaged in blocks
        pixels = np.tile(np.asarray(bands, np.uint8), (size, size, 1))
        fitted = placeholder._fitted(pixels)
        assert fitted.shape[2] == 4 and fitted[0, 0].tolist() == expected


def test_from_pixels_names_the_colour_as_css_does() -> None:
    pixels = np.tile(np.asarray([255, 128, 0, 255], np.uint8), (3, 5, 1))
    hint = placeholder.from_pixels(pixels)
    assert (hint.color, hint.width, hint.height) == ("#ff8000", 5, 3)
