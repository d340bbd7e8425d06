"""The placeholder a page paints before any variant loads: a ThumbHash of the picture and its mean
colour, taken from a variant the render already holds.

Its source is the smallest variant that shows the whole picture (not cut to a box, not
watermarked): `small` with the defaults. `render` keeps that variant's pixels in memory
(`plan_index`; with the defaults they are anyway, as `thumbnail` is cut from them), so the
placeholder costs a copy of them, a block mean to fit 100x100 (ThumbHash's limit) and the hash:
about 1 ms of CPU, 1.6% of a render (docs/performance.md). When that variant is the upload's
own stream (a kept `original`), it was never decoded, so its bytes are, shrunk on load. A JPEG
variant's pixels are flattened first, as its encode does: the placeholder shows what the
variants show.

The colour is the alpha-weighted mean of the same pixels' sRGB values, not of linear light: it
is the colour the ThumbHash's DC terms quantise, so the flat colour and the decoded placeholder
agree and the page does not change tone going from one to the other.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyvips

from shared.variants import VariantSpec
from worker.engine import colour
from worker.engine.ops import ms, op
from worker.engine.ordering import Encoded
from worker.engine.results import Placeholder, Rendition, SourceInfo
from worker.formats import thumbhash
from worker.formats.geometry import Size, VariantPlan, plan_variant

_SIDE = thumbhash.MAX_SIDE
Pixels = np.typing.NDArray[np.uint8]
Unsigned = np.typing.NDArray[np.unsignedinteger[Any]]
Rank = tuple[bool, bool, int]  # watermarked, cropped, pixels: the lowest is the source


def plan_index(plans: Sequence[VariantPlan]) -> int | None:
    """The plan the placeholder is taken from, if a rendered one is: its pixels are kept."""
    ranked = [(_rank(p.spec, p.scaled == p.final, p.final), i) for i, p in enumerate(plans) if p.twin < 0]
    return min(ranked)[1] if ranked else None


def of_render(
    info: SourceInfo, kept: Iterable[Rendition], rendered: Sequence[Encoded], timings: dict[str, float]
) -> Placeholder | None:
    """The placeholder of a render, from its kept streams (`kept`) and rendered variants."""
    started = time.perf_counter()
    upright = Size(info.height, info.width) if info.orientation >= 5 else Size(info.width, info.height)
    # (rank, pixels unavailable, what to read): pixels in memory before bytes to decode
    choices: list[tuple[Rank, bool, Rendition, Encoded | None]] = [
        (_rank(None, True, _size(r)), True, r, None) for r in kept
    ]
    for encoded in rendered:
        scaled, final = plan_variant(upright, encoded.spec)
        rank = _rank(encoded.spec, scaled == final, _size(encoded.rendition))
        choices.append((rank, encoded.image is None, encoded.rendition, encoded))
    if not choices:
        return None
    _, _, rendition, entry = min(choices, key=lambda choice: choice[:2])
    if entry is not None and entry.image is not None:
        image = _as_encoded(entry.image, entry.spec, rendition)
    else:  # a stream never decoded: decoded now, shrunk on load
        image = op("thumbnail_buffer", rendition.data, _SIDE, height=_SIDE, size="down")
    placeholder = from_pixels(_fitted(_pixels(image)))
    timings["placeholder"] = ms(started)
    return placeholder


def from_pixels(rgba: Pixels) -> Placeholder:
    """The placeholder of RGBA pixels (rows x columns x 4) that fit 100x100."""
    encoded = base64.b64encode(thumbhash.encode(rgba)).decode("ascii")
    color = "#" + "".join(f"{round(255 * level):02x}" for level in thumbhash.average_rgb(rgba))
    return Placeholder(encoded, color, width=rgba.shape[1], height=rgba.shape[0])


def _rank(spec: VariantSpec | None, whole: bool, size: Size) -> Rank:
    watermarked = spec is not None and spec.watermark is not None
    return watermarked, not whole, size.width * size.height


def _size(rendition: Rendition) -> Size:
    return Size(rendition.width, rendition.height)


def _as_encoded(image: pyvips.Image, spec: VariantSpec, rendition: Rendition) -> pyvips.Image:
    if image.hasalpha() and rendition.format == "jpeg":
        return colour.flatten(image, spec.background_rgb)  # as `encode` does
    return image


def _pixels(image: pyvips.Image) -> Pixels:
    data = image.write_to_memory()
    return np.frombuffer(data, np.uint8).reshape(image.height, image.width, image.bands)


def _fitted(pixels: Pixels) -> Pixels:
    # RGBA at most 100x100: the mean of each k x k block (the few rows and columns past the last
    # whole block, split between the edges, left out), colour weighted by alpha so that hidden
    # colours do not bleed in. In numpy: a libvips resize costs more to set up (0.4 ms) than
    # this takes; an opaque picture (almost every one) skips the weighting.
    alpha = pixels.shape[2] in (2, 4) and bool(pixels[:, :, -1].min() < 255)
    colour = pixels if alpha or pixels.shape[2] in (1, 3) else pixels[:, :, :-1]
    k = -(-max(pixels.shape[:2]) // _SIDE)
    fitted = _block_mean(colour, k, alpha) if k > 1 else colour
    rgb = fitted[:, :, : 3 if fitted.shape[2] > 2 else 1]
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
    opacity = fitted[:, :, -1:] if alpha else np.full((*fitted.shape[:2], 1), 255, np.uint8)
    return np.ascontiguousarray(np.concatenate([rgb, opacity], axis=2))


def _block_mean(pixels: Pixels, k: int, alpha: bool) -> Pixels:
    rows, columns, bands = pixels.shape[0] // k, pixels.shape[1] // k, pixels.shape[2]
    top, left = (pixels.shape[0] - rows * k) // 2, (pixels.shape[1] - columns * k) // 2
    block: np.typing.NDArray[np.unsignedinteger[Any]] = pixels[
        top : top + rows * k, left : left + columns * k
    ]
    if alpha:
        weight = block[:, :, -1:].astype(np.uint16)
        block = np.concatenate([block[:, :, :-1] * weight, weight], axis=2)
    # Rows of blocks first (contiguous, summed into 32 bits as read), then across.
    sums = (
        block.reshape(rows, k, -1).sum(axis=1, dtype=np.uint32).reshape(rows, columns, k, bands).sum(axis=2)
    )
    area = k * k
    if not alpha:
        plain: Pixels = ((sums + area // 2) // area).astype(np.uint8)
        return plain
    weights = sums[:, :, -1:]
    colour = np.where(weights > 0, (sums[:, :, :-1] + weights // 2) // np.maximum(weights, 1), 0)
    mixed: Pixels = np.concatenate([colour, (weights + area // 2) // area], axis=2).astype(np.uint8)
    return mixed
