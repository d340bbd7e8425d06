"""The size guard: no variant costs more bytes than a variant of the same upload with more pixels.

Capping JPEG variants at the upload's own quality (`quality`) keeps a heavily compressed upload's
variants under its lossless `original` on every photo of the corpus, but not everywhere: an
upload just over a variant's box (1,680 px against `large`'s 1,600) whose Huffman tables were
optimised, as mozjpeg, Photoshop's "save for web" and most editors do, is kept as a stream up to
14% smaller than `large` re-encoded at the same quality with the standard tables. And a WebP or
AVIF variant beside a kept JPEG `original` has a quality scale of its own.

So the bytes themselves are checked, largest picture first. A lossy variant that costs more than
the cheapest variant with more pixels is encoded again: a JPEG with Huffman tables fitted to
its picture at the same quality, then, only if that is still too big, at the highest lower
quality that fits, found by stepping down and halving. Nothing is re-encoded when the order
holds, which is every render of the corpus. Watermarked variants carry more than the upload's
picture and are left out; PNG has no quality to lower and AVIF is too slow to encode again, so
both are only ever a ceiling.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pyvips

from shared.variants import VariantSpec
from worker.engine import encode
from worker.engine.ops import ms
from worker.engine.results import Rendition

# AVIF is only ever a ceiling, like PNG: one encode of a 1600 px AVIF takes 5-10 s on a core, so
# a search of several would spend the record's whole budget (IMGPIPE_RECORD_BUDGET_MS, 15 s) on
# bytes, and an AVIF at a given quality is far smaller than a JPEG of it anyway.
_LOWERED = ("jpeg", "webp")
# Bytes per quality step, as a log slope: about 2% for JPEG, 3-4% for WebP and AVIF at Q50-85.
# The lowest is assumed before two encodes measure it, so the first guess rather undershoots.
_SLOPE = 0.02
_AIM, _CLOSE = 0.97, 0.95  # aim 3% under the limit; a fit within 5% of it is close enough,
_STEPS = 2  # and so is one within 2 qualities of an encode that does not fit
_TRIES = 4  # encodes, after which the best fit found is taken (an AVIF of 1600 px takes 5-10 s)


@dataclass(frozen=True)
class Encoded:
    """A rendered variant with what it was encoded from, so it can be encoded again."""

    spec: VariantSpec
    image: pyvips.Image | None  # None when its pixels cannot be read again (a streaming decode)
    rendition: Rendition


def in_order(
    kept: Iterable[Rendition], rendered: Sequence[Encoded], timings: dict[str, float]
) -> list[Rendition]:
    """Every rendition, each lossy one encoded again smaller where a variant with more pixels
    costs fewer bytes (`kept` streams are the upload's own and are never encoded again)."""
    result = {e.rendition.name: e.rendition for e in rendered}  # watermarked ones as they are
    entries: list[tuple[Rendition, Encoded | None]] = [(r, None) for r in kept]
    entries += [(e.rendition, e) for e in rendered if e.spec.watermark is None]
    entries.sort(key=lambda entry: _pixels(entry[0]), reverse=True)
    ceiling = larger = math.inf  # the fewest bytes of any variant with more pixels; of any so far
    for index, (rendition, source) in enumerate(entries):
        if index and _pixels(rendition) < _pixels(entries[index - 1][0]):
            ceiling = larger
        if source is not None and len(rendition.data) > ceiling:
            rendition = _lowered(source, int(ceiling), timings)
        result[rendition.name] = rendition
        larger = min(larger, len(rendition.data))
    return list(result.values())


def _pixels(rendition: Rendition) -> int:
    return rendition.width * rendition.height


def _lowered(source: Encoded, limit: int, timings: dict[str, float]) -> Rendition:
    """The variant encoded again in at most `limit` bytes, at the highest quality that allows;
    the smallest encoding tried when not even quality 1 does; as it was when it cannot be."""
    spec, image, first = source.spec, source.image, source.rendition
    if image is None or first.format not in _LOWERED:
        return first
    started = time.perf_counter()

    def at(quality: int) -> Rendition:
        return encode.encode(image, spec.model_copy(update={"quality": quality}), optimise=True)

    best = at(spec.quality) if first.format == "jpeg" else first  # Huffman tables fitted to it
    if len(best.data) > limit and spec.quality > 1:
        best = _highest_fitting(at, spec.quality, len(best.data), limit)
    timings[f"reencode.{spec.name}"] = ms(started)
    return best


def _highest_fitting(at: Callable[[int], Rendition], top: int, first: int, limit: int) -> Rendition:
    # Bytes grow about exponentially with quality, so a guess interpolates log(bytes) between the
    # closest encodes that fit and that do not (before any fits, it steps down by an assumed
    # slope), aiming a little under the limit; a fit within `_CLOSE` of it is taken. Where a
    # guess did not halve the gap between them, the next one halves it, as in Dekker's method:
    # interpolation alone creeps along a curved or stepped side (AVIF's) one quality at a time.
    tried: dict[int, Rendition] = {}
    sizes = {top: first}
    gap = math.inf  # between the closest fit and miss, before the last guess
    while True:
        hit = max((q for q, size in sizes.items() if size <= limit), default=0)
        miss = min(q for q in sizes if q > hit)
        if hit and (miss - hit <= _STEPS or sizes[hit] >= _CLOSE * limit or len(tried) >= _TRIES):
            return tried[hit]
        if not hit and miss == 1:
            return tried[1]  # not even quality 1 fits: the smallest there is
        halve = hit and 2 * (miss - hit) > gap
        gap = miss - hit
        quality = (hit + miss) // 2 if halve else _guess(sizes, hit, miss, _AIM * limit)
        tried[quality] = at(quality)
        sizes[quality] = len(tried[quality].data)


def _guess(sizes: dict[int, int], hit: int, miss: int, target: float) -> int:
    slope = _SLOPE
    if hit:
        slope = math.log(sizes[miss] / max(1, sizes[hit])) / (miss - hit) or _SLOPE
    quality = miss - math.ceil(math.log(sizes[miss] / target) / slope)
    return min(max(quality, hit + 1, 1), miss - 1)
