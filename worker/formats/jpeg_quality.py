"""A JPEG upload's own quality, read from its quantisation tables: the most a re-encode is worth.

Re-encoding a heavily compressed JPEG at Q85 spends bytes reproducing its blocking artefacts
exactly: a Q30 upload's `large` can cost more than its whole lossless `original` (issue 20).
A JPEG variant is therefore encoded at no more than the upload's own quality.

The quality is estimated as libjpeg-based estimators do (ImageMagick's `identify`): the IJG
quality factor whose scaling of the standard tables (JPEG Annex K) best matches the upload's
luminance and chrominance tables, the sum of absolute differences being the distance. Every
encoder on libjpeg (libjpeg-turbo, mozjpeg, libvips, Pillow, ImageMagick, GIMP, most cameras'
software) writes those tables exactly, so the estimate is exact for them; for a camera's own
tables it is the nearest IJG quality. All 100 candidates are compared at once (about 20 us).

WebP and AVIF variants are not capped by this figure: their quality scales are their own
(libwebp's and AV1's quantisers, not IJG's), so a JPEG's Q30 means nothing there, and capping an
AVIF at it would make it far worse than the upload. The size guard (`worker.engine.ordering`)
keeps those in order by their bytes instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from shared.variants import VariantSpec
from worker.formats import jpeg

# JPEG Annex K, tables K.1 and K.2, in natural (row-major) order.
_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
)  # fmt: skip
# The natural position of each coefficient in zigzag order, the order DQT stores a table in.
_ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip
# libjpeg's ceilings: baseline tables (8 bits) and extended ones (16 bits, written when a
# quality low enough pushes an entry past 255 without force_baseline).
_BASELINE, _EXTENDED = 255, 32767

Ladder = npt.NDArray[np.int64]


def scaled_table(base: tuple[int, ...], quality: int, ceiling: int = _BASELINE) -> list[int]:
    """`base` scaled to `quality` (1-100) exactly as libjpeg's `jpeg_set_quality` does."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((entry * scale + 50) // 100, 1), ceiling) for entry in base]


def _ladder(natural: tuple[int, ...], ceiling: int) -> Ladder:
    zigzag = tuple(natural[i] for i in _ZIGZAG)
    return np.array([scaled_table(zigzag, quality, ceiling) for quality in range(1, 101)], np.int64)


# Row q-1: the table at quality q, as DQT stores it.
_LADDERS = {
    limit: (_ladder(_LUMINANCE, limit), _ladder(_CHROMINANCE, limit)) for limit in (_BASELINE, _EXTENDED)
}


def standard_tables(quality: int) -> tuple[list[int], list[int]]:
    """The luminance and chrominance tables libjpeg writes at `quality`, in DQT's zigzag order."""
    luminance, chrominance = _LADDERS[_BASELINE]
    return [int(v) for v in luminance[quality - 1]], [int(v) for v in chrominance[quality - 1]]


def estimate(data: bytes) -> int | None:
    """The upload's IJG quality (1-100), or None when it is not a JPEG with readable tables."""
    try:
        tables = jpeg.component_tables(data, jpeg.layout(data))
    except jpeg.Malformed:
        return None
    if not tables or tables[0] is None:
        return None
    chrominance = tables[1] if len(tables) > 1 else None
    largest = max(max(tables[0], default=0), max(chrominance or (), default=0))
    ladder_y, ladder_c = _LADDERS[_EXTENDED if largest > _BASELINE else _BASELINE]
    distance = np.abs(ladder_y - np.array(tables[0], np.int64)).sum(axis=1)
    # An encoder that quantises chroma with the luminance table says nothing more through it.
    if chrominance is not None and chrominance != tables[0]:
        distance += np.abs(ladder_c - np.array(chrominance, np.int64)).sum(axis=1)
    # Ties go to the highest quality: never cap lower than the tables justify.
    return 100 - int(np.argmin(distance[::-1]))


def capped(specs: Sequence[VariantSpec], ceiling: int | None) -> list[VariantSpec]:
    """`specs` with every JPEG variant's quality at most `ceiling`, a JPEG upload's own quality.

    `auto` counts as JPEG here: a JPEG upload has no alpha and no step adds any.
    """
    if ceiling is None:
        return list(specs)
    return [
        spec.model_copy(update={"quality": ceiling})
        if spec.format in ("jpeg", "auto") and spec.quality > ceiling
        else spec
        for spec in specs
    ]
