"""How much memory decoding an upload will take, from its header alone.

The pixel limit does not bound memory: a 100 MP JPEG is decoded at its shrink-on-load scale, while a 100 MP
10-bit AVIF of 2 KB is decoded whole by libheif, in 16-bit planes, then converted. The worker
admits renders by these estimates against its memory budget (`worker.gate.MemoryGate`). The
factors are bytes per pixel, measured as peak RSS over a fresh process's baseline for each
format with the default variants (docs/performance.md, "Memory per format") and rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from shared.variants import VariantSpec
from worker.engine import turbo
from worker.engine.results import SourceInfo
from worker.formats.geometry import Size, load_shrink, plan_variants

_MIB = 2**20
FIXED = 40 * _MIB  # per render: libvips' buffers and threads, encoder state, the upload's bytes


def decode_bytes_per_pixel(info: SourceInfo) -> float:
    """What the decoder holds per decoded pixel (before the engine's own copies)."""
    sample = 2 if info.bits > 8 else 1
    if info.format == "avif":
        # libheif's planes (16-bit beyond 8 bits), its RGB output, libvips' copy: measured 14.5
        # (8-bit) and 17.5 (10-bit) bytes a pixel in all, with the engine's own copies below.
        return 12.0 if info.bits > 8 else 9.0
    if info.format == "heif":
        return info.bands + 3.0  # pi-heif's 8-bit output and libde265's planes
    if info.format == "jpeg":
        # Progressive: libjpeg's coefficient buffer for the whole picture (2 bytes a sample).
        return 2.0 * info.bands if info.progressive else 0.0
    if info.format == "png":
        return info.bands * sample if info.progressive else 0.0  # interlaced PNGs load whole
    if info.format == "gif":
        return 8.0  # the frame and its RGBA rendering
    if info.format == "webp":
        return 8.0  # libwebp decodes the whole picture (RGBA), libvips copies it
    return float(info.bands * sample)  # tiff: strips or tiles, some decoded whole


def estimate(info: SourceInfo, specs: Sequence[VariantSpec]) -> int:
    """Bytes the render of `specs` from this header may need at its peak."""
    stored = Size(info.width, info.height)
    transposed = info.orientation >= 5
    plans = plan_variants(stored.transposed() if transposed else stored, specs)
    shrink = load_shrink(stored, plans, transposed) if info.format in ("jpeg", "webp") else 1
    decoded = math.ceil(info.width / shrink) * math.ceil(info.height / shrink)
    full = info.width * info.height
    # A progressive JPEG's coefficients are kept at full size whatever the shrink.
    decoder = decode_bytes_per_pixel(info) * (full if info.format == "jpeg" else decoded)
    if info.format == "jpeg" and decoded <= turbo.MAX_PIXELS:
        decoder += info.bands * decoded  # libjpeg-turbo decodes the whole picture
    largest = max((p.scaled.width * p.scaled.height for p in plans), default=0)
    # The engine's own: the largest variant held for the cascade and rotated (4 bands at most),
    # and the pixels libjpeg-turbo encodes from (3 bands), when it does.
    held = (2 * 4 + (3 if largest <= turbo.ENCODE_MAX_PIXELS else 0)) * largest
    return int(FIXED + decoder + held + 2 * info.bytes)
