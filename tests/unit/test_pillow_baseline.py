"""The benchmark's Pillow baseline must do the engine's job, or `make bench`'s ratio means nothing."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from loadtest.bench import pillow_baseline
from shared.variants import DEFAULT_VARIANTS, VariantSpec
from tests.fixtures import images
from tests.fixtures.pixels import pixel
from worker import engine
from worker.formats import jpeg_quality

RESIZED = DEFAULT_VARIANTS[1:]
SOURCES: dict[str, Callable[[], bytes]] = {
    "photo": lambda: images.photo_jpeg(2000, 1500),
    "rotated": lambda: images.oriented_photo_jpeg(1800, 1200, 6),
    "panorama": images.panorama_jpeg,
    "cmyk": lambda: images.cmyk_jpeg(True),
    "alpha": images.rgba_png,
    "gif": images.animated_gif,
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
    assert [(name, w, h, (_decode(out).format or "").lower()) for name, w, h, out in theirs] == ours


def test_baseline_caps_jpeg_quality_at_the_uploads_own_as_the_engine_does() -> None:
    # Given a Q40 JPEG upload and variants asked for at Q85
    data = images.photo_jpeg(1200, 900, quality=40)
    # When both render them, Then both encode at Q40, so the bench compares the same job
    ours = [jpeg_quality.estimate(v.data) for v in engine.render(data, RESIZED).variants]
    theirs = [jpeg_quality.estimate(out) for *_, out in pillow_baseline.render(data, RESIZED)]
    assert theirs == ours == [40] * len(RESIZED)


def test_baseline_flattens_alpha_onto_white_for_jpeg() -> None:
    (_, _, _, out), *_ = pillow_baseline.render(images.rgba_png(), RESIZED)
    output = _decode(out)
    width, height = output.size
    assert output.mode == "RGB"
    assert all(abs(c - 255) <= 10 for c in pixel(output, (3 * width // 4, height // 2)))


@pytest.mark.parametrize(("colour", "rgb"), [("#ffffff", (255, 255, 255)), ("#ff0000", (255, 0, 0))])
@pytest.mark.parametrize("jpeg_only", [True, False], ids=["flattened-first", "flattened-per-variant"])
def test_baseline_flattens_onto_the_variants_background(
    colour: str, rgb: tuple[int, ...], jpeg_only: bool
) -> None:
    specs = [VariantSpec(name="v", width=64, format="jpeg", background=colour)]
    if not jpeg_only:
        specs.append(VariantSpec(name="w", width=32, format="png"))
    (_, _, _, out), *_ = pillow_baseline.render(images.rgba_png(), specs)
    output = _decode(out)
    width, height = output.size
    assert all(
        abs(c - e) <= 10 for c, e in zip(pixel(output, (3 * width // 4, height // 2)), rgb, strict=True)
    )


def test_baseline_keeps_alpha_for_auto() -> None:
    (_, _, _, out), *_ = pillow_baseline.render(images.rgba_png(), [VariantSpec(name="v", format="auto")])
    assert _decode(out).mode == "RGBA"


def test_baseline_treats_a_palette_transparent_entry_as_alpha() -> None:
    # Given a palette PNG whose right half uses the transparent entry (hidden colour: blue)
    image = Image.new("P", (64, 48), 1)
    image.putpalette([30, 180, 60, 0, 0, 255] + [0] * 762)
    image.paste(0, (0, 0, 32, 48))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=1)
    # When both render a JPEG, then both show white there, not the hidden blue
    spec = [VariantSpec(name="v", width=32)]
    (_, _, _, theirs), *_ = pillow_baseline.render(buffer.getvalue(), spec)
    ours = engine.render(buffer.getvalue(), spec).variants[0].data
    for out in (theirs, ours):
        assert all(c >= 245 for c in pixel(_decode(out).convert("RGB"), (24, 12)))
