"""ThumbHash: a picture's placeholder in about 25 bytes, which a page decodes to a blurred preview.

The algorithm is Evan Wallace's (https://evanw.github.io/thumbhash/; his reference code is the npm
package `thumbhash`, 0.1.1, whose `thumbHashToRGBA` the page uses). The picture, composited over
its own average colour, becomes luminance (L), yellow-blue (P), red-green (Q) and alpha (A)
channels; each keeps its lowest DCT coefficients (L up to 7 a side, P and Q 3, A 5), each
quantised to 4 bits, behind a 5- or 6-byte header of the DC terms, the scales and the aspect ratio.

The reference loops over every pixel once per coefficient: as Python, 18-33 ms for 100x100 (the
PyPI ports `thumbhash` and `thumbhash-python`). Here the coefficients of R, G, B (and A) are two
matrix products (cosine bases by rows, pixels, cosine bases by columns), combined into L, P and Q
afterwards (the DCT is linear): 0.1-0.6 ms for an opaque 100x100 picture. Rounding is
JavaScript's `Math.round` (halves up), so the bytes are the reference's, with one deliberate
difference: a coefficient that is zero but for rounding error (a flat or symmetric picture) is
taken as zero, so such a picture hashes alike on every machine, where the reference's last bits
(which a decoder multiplies by a zero scale) depend on the order of its sums.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

MAX_SIDE = 100  # the reference refuses bigger input: slower, and no better a placeholder
_NOISE = 1e-9  # far below a 4-bit step of any coefficient a picture of 8-bit samples has

Floats = NDArray[np.float64]


def average_rgb(rgba: NDArray[np.uint8]) -> tuple[float, float, float]:
    """The alpha-weighted mean of the sRGB values (0-1), as ThumbHash's DC terms take it (black
    when every pixel is transparent)."""
    # Sums of integers are exact, so the mean is the same on every machine, whatever the order.
    pixels = rgba.reshape(-1, 4).astype(np.int64)
    weight = int(pixels[:, 3].sum())
    if not weight:
        return 0.0, 0.0, 0.0
    red, green, blue = (int(total) / (255 * weight) for total in pixels[:, 3] @ pixels[:, :3])
    return red, green, blue


def encode(rgba: NDArray[np.uint8]) -> bytes:
    """The ThumbHash of an RGBA picture (rows x columns x 4, not premultiplied), at most 100x100."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected rows x columns x 4 uint8 pixels, not {rgba.shape} {rgba.dtype}")
    h, w = rgba.shape[:2]
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError(f"{w}x{h} doesn't fit in {MAX_SIDE}x{MAX_SIDE}")
    has_alpha = bool(rgba[:, :, 3].min() < 255)
    limit = 5 if has_alpha else 7  # fewer luminance coefficients leave room for alpha's
    lx, ly = (max(1, _round(limit * side / max(w, h))) for side in (w, h))
    if has_alpha:  # composited over the average colour, so transparent pixels add no colour
        alpha = rgba[:, :, 3:] / 255
        average = np.asarray(average_rgb(rgba))
        planes = np.dstack([average + (rgba[:, :, :3] / 255 - average) * alpha, alpha])
    else:
        planes = rgba[:, :, :3] / 255
    # The DCT is linear, so L, P and Q's coefficients are those of R, G and B combined.
    red, green, blue, *alpha_terms = _dct(planes, max(lx, ly, 5 if has_alpha else 3))
    l_dc, l_ac, l_scale = _kept((red + green + blue) / 3, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _kept((red + green) / 2 - blue, 3, 3)
    q_dc, q_ac, q_scale = _kept(red - green, 3, 3)
    landscape = w > h
    header24 = (
        _round(63 * l_dc)
        | _round(31.5 + 31.5 * p_dc) << 6
        | _round(31.5 + 31.5 * q_dc) << 12
        | _round(31 * l_scale) << 18
        | has_alpha << 23
    )
    header16 = (ly if landscape else lx) | _round(63 * p_scale) << 3 | _round(63 * q_scale) << 9
    header16 |= landscape << 15
    head = [header24 & 255, header24 >> 8 & 255, header24 >> 16, header16 & 255, header16 >> 8]
    factors = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _kept(alpha_terms[0], 5, 5)
        head.append(_round(15 * a_dc) | _round(15 * a_scale) << 4)
        factors.append(a_ac)
    nibbles = np.floor(15 * np.concatenate(factors) + 0.5).astype(np.uint8)
    if len(nibbles) % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return bytes(head) + (nibbles[0::2] | nibbles[1::2] << 4).tobytes()


def _dct(planes: Floats, n: int) -> Floats:
    # Each plane's n x n lowest DCT-II coefficients (band, row, column), as the reference scales
    # them (a mean: the DC term is the plane's average).
    h, w, bands = planes.shape
    by_rows = np.cos(math.pi / h * np.outer(np.arange(n), np.arange(h) + 0.5))
    by_columns = np.cos(math.pi / w * np.outer(np.arange(n), np.arange(w) + 0.5))
    down = (by_rows @ planes.reshape(h, w * bands)).reshape(n, w, bands)
    across: Floats = np.tensordot(down, by_columns, axes=(1, 1)).transpose(1, 0, 2) / (w * h)
    return across


def _kept(coefficients: Floats, nx: int, ny: int) -> tuple[float, Floats, float]:
    # The DC term, the AC terms in the reference's order (row by row of the triangle of
    # coefficients it keeps) mapped to 0-1 by their largest magnitude, and that magnitude.
    rows, columns = zip(*triangle(nx, ny), strict=True)
    kept = coefficients[list(rows), list(columns)]
    ac = kept[1:].copy()
    ac[np.abs(ac) < _NOISE] = 0.0
    scale = float(np.abs(ac).max(initial=0.0))
    if scale:
        ac = 0.5 + 0.5 / scale * ac
    return float(kept[0]), ac, scale


def triangle(nx: int, ny: int) -> list[tuple[int, int]]:
    """The (row, column) coefficients ThumbHash keeps of an nx by ny grid, in its order, DC first."""
    return [(cy, cx) for cy in range(ny) for cx in range(nx) if cx * ny < nx * (ny - cy)]


def _round(value: float) -> int:
    return math.floor(value + 0.5)  # JavaScript's Math.round: halves go up


def average_rgba(thumbhash: bytes) -> tuple[float, float, float, float]:
    """The average colour a ThumbHash holds (0-1, not premultiplied), as the reference reads it."""
    header = thumbhash[0] | thumbhash[1] << 8 | thumbhash[2] << 16
    l_dc, p_dc, q_dc = (header & 63) / 63, (header >> 6 & 63) / 31.5 - 1, (header >> 12 & 63) / 31.5 - 1
    alpha = (thumbhash[5] & 15) / 15 if header >> 23 else 1.0
    red, green, blue = (float(np.clip(c, 0, 1)) for c in _to_rgb(np.float64(l_dc), p_dc, q_dc))
    return red, green, blue, alpha


def decode(thumbhash: bytes) -> NDArray[np.uint8]:
    """The placeholder a ThumbHash draws (at most 32x32, rows x columns x 4), as the reference's
    `thumbHashToRGBA` draws it."""
    header24 = thumbhash[0] | thumbhash[1] << 8 | thumbhash[2] << 16
    header16 = thumbhash[3] | thumbhash[4] << 8
    has_alpha, landscape = bool(header24 >> 23), bool(header16 >> 15)
    limit = 5 if has_alpha else 7
    lx = max(3, limit if landscape else header16 & 7)
    ly = max(3, header16 & 7 if landscape else limit)
    # The reference's approximate aspect ratio, from the luminance grid's unclamped sides.
    ratio = limit / (header16 & 7) if landscape else (header16 & 7) / limit
    w, h = (32, _round(32 / ratio)) if ratio > 1 else (_round(32 * ratio), 32)
    nibbles = np.frombuffer(thumbhash[6 if has_alpha else 5 :], np.uint8)
    factors = np.stack([nibbles & 15, nibbles >> 4], axis=1).ravel() / 7.5 - 1
    # Saturation is boosted by 1.25 to make up for quantisation, as the reference does.
    scales = [(header24 >> 18 & 31) / 31, (header16 >> 3 & 63) / 63 * 1.25, (header16 >> 9 & 63) / 63 * 1.25]
    grids = [(lx, ly), (3, 3), (3, 3)]
    dcs = [(header24 & 63) / 63, (header24 >> 6 & 63) / 31.5 - 1, (header24 >> 12 & 63) / 31.5 - 1]
    if has_alpha:
        scales.append((thumbhash[5] >> 4) / 15)
        grids.append((5, 5))
        dcs.append((thumbhash[5] & 15) / 15)
    planes, start = [], 0
    for dc, scale, (nx, ny) in zip(dcs, scales, grids, strict=True):
        terms = triangle(nx, ny)[1:]
        grid = np.zeros((ny, nx))
        for (cy, cx), factor in zip(terms, factors[start : start + len(terms)], strict=True):
            grid[cy, cx] = factor * scale
        start += len(terms)
        by_rows = np.cos(math.pi / h * np.outer(np.arange(h) + 0.5, np.arange(ny)))
        by_columns = np.cos(math.pi / w * np.outer(np.arange(nx), np.arange(w) + 0.5))
        planes.append(dc + 2 * by_rows @ grid @ by_columns)
    red, green, blue = _to_rgb(planes[0], planes[1], planes[2])
    alpha = planes[3] if has_alpha else np.ones((h, w))
    rgba = np.stack(np.broadcast_arrays(red, green, blue, alpha), axis=2)
    # Truncated, as the reference's Uint8Array stores a fraction.
    pixels: NDArray[np.uint8] = (255 * np.clip(rgba, 0, 1)).astype(np.uint8)
    return pixels


def _to_rgb(lum: Floats | np.float64, p: Floats | float, q: Floats | float) -> tuple[Floats, Floats, Floats]:
    blue = lum - 2 / 3 * p
    red = (3 * lum - blue + q) / 2
    return np.asarray(red), np.asarray(red - q), np.asarray(blue)
