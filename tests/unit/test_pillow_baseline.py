"""The benchmark's Pillow baseline must do the engine's job, or `make bench`'s ratio means nothing."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from loadtest import pillow_baseline
from shared.variants import DEFAULT_VARIANTS, VariantSpec
from tests.fixtures import images
from worker import engine

RESIZED = DEFAULT_VARIANTS[1:]
SOURCES: dict[str, Callable[[], bytes]] = {
    "photo": lambda: images.photo_jpeg(2000, 1500),
    "rotated": lambda: images.oriented_photo_jpeg(1800, 1200, 6),
    "panorama": images.panorama_jpeg,
    "cmyk": lambda: images.cmyk_jpeg(True),
    "alpha": images.rgba_png,
    "tiny": images.tiny_jpeg,
}


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("source", SOURCES.values(), ids=SOURCES.keys())
def test_baseline_makes_the_engines_variants(source: Callable[[], bytes]) -> None:
    # Given one upload, when both render the four resized default variants
    data = source()
    ours = [(r.name, r.width, r.height, r.format) for r in engine.render(data, RESIZED).variants]
    theirs = pillow_baseline.render(data, RESIZED)
    # Then both produce the same names, sizes and formats
    assert [(name, w, h, _decode(out).format.lower()) for name, w, h, out in theirs] == ours


def test_baseline_flattens_alpha_onto_white_for_jpeg() -> None:
    (_, _, _, out), *_ = pillow_baseline.render(images.rgba_png(), RESIZED)
    output = _decode(out)
    width, height = output.size
    assert output.mode == "RGB"
    assert all(abs(c - 255) <= 10 for c in output.getpixel((3 * width // 4, height // 2)))


def test_baseline_keeps_alpha_for_auto() -> None:
    (_, _, _, out), *_ = pillow_baseline.render(images.rgba_png(), [VariantSpec(name="v", format="auto")])
    assert _decode(out).mode == "RGBA"
