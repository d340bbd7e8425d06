"""The watermark step: a text or image overlay composited at a gravity, opacity kept."""

from __future__ import annotations

import functools
from pathlib import Path

import pyvips

from shared.limits import Limits
from shared.variants import Watermark
from worker.engine.load import decoded, decoding, open_source
from worker.engine.ops import op
from worker.formats.sniff import sniff_format


def watermark(image: pyvips.Image, mark: Watermark) -> pyvips.Image:
    """`image` with `mark` composited on it; an opaque image stays opaque."""
    opaque = not image.hasalpha()
    if image.bands < 3:
        image = op("colourspace", image, "srgb")
    overlay = _overlay(mark, max(1, round(image.width * mark.scale)), max(1, image.height // 4))
    x, y = _position(mark.gravity, image, overlay)
    marked = op("cast", op("composite2", image, overlay, "over", x=x, y=y), image.format)
    # composite2 always adds alpha; an opaque photo must stay opaque (and JPEG under `auto`).
    return op("extract_band", marked, 0, n=marked.bands - 1) if opaque else marked


def _position(gravity: str, image: pyvips.Image, overlay: pyvips.Image) -> tuple[int, int]:
    margin = max(1, image.width // 50)
    x, y = (image.width - overlay.width) // 2, (image.height - overlay.height) // 2
    if gravity.endswith("west"):
        x = margin
    elif gravity.endswith("east"):
        x = image.width - overlay.width - margin
    if gravity.startswith("north"):
        y = margin
    elif gravity.startswith("south"):
        y = image.height - overlay.height - margin
    return max(0, x), max(0, y)


def _overlay(mark: Watermark, width: int, height: int) -> pyvips.Image:
    if mark.text is not None:
        alpha = op("text", mark.text, width=width, height=height, font="sans bold")
        white = op("black", alpha.width, alpha.height, bands=3)
        colour = op("copy", op("linear", white, [1.0], [255.0], uchar=True), interpretation="srgb")
        return op("bandjoin", [colour, op("linear", alpha, [mark.opacity], [0.0], uchar=True)])
    assert mark.image is not None
    picture = _watermark_image(mark.image)
    picture = op("resize", picture, min(1.0, width / picture.width, height / picture.height))
    if not picture.hasalpha():
        picture = op("bandjoin_const", picture, [255.0])
    return op("linear", picture, [1.0, 1.0, 1.0, mark.opacity], [0.0], uchar=True)


@functools.lru_cache(maxsize=8)
def _watermark_image(path: Path) -> pyvips.Image:
    data = path.read_bytes()
    fmt = sniff_format(data, Limits())
    with decoding(fmt):
        return op("colourspace", decoded(open_source(data, fmt)), "srgb").copy_memory()
