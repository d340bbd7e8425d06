"""The encode step: one variant's pixels to bytes, on the calling thread or on a shared pool.

A worker running one image per core encodes one image's variants side by side, so the last,
biggest image of a batch (often encode-bound, like a full-size WebP) uses every core instead of
one while the others idle.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import pyvips

from shared.errors import ImageTooLarge
from shared.variants import WEBP_EFFORT, VariantSpec
from worker.engine import colour, turbo
from worker.engine.ops import ms, op
from worker.engine.results import Rendition

# The savers, called by name: `write_to_buffer` finds its saver inside vips_error_freeze(), which
# is process-wide, so a render failing on another thread meanwhile lost its reason (6 of 300
# truncated JPEGs beside three good renders came out "stopped without naming a reason").
_SAVER = {"jpeg": "jpegsave_buffer", "webp": "webpsave_buffer", "avif": "heifsave_buffer",
          "png": "pngsave_buffer"}  # fmt: skip
_pool: ThreadPoolExecutor | None = None
# The longest side each format can hold (libjpeg's JPEG_MAX_DIMENSION, libwebp's
# WEBP_MAX_DIMENSION). A 70000x20 panorama is within the pixel limit, and its full-size variant
# can never be one of these: that is the upload's size, not a failure worth a retry.
_MAX_SIDE = {"jpeg": 65500, "webp": 16383}


def set_pool(encoders: int) -> None:
    """Encode on a pool of `encoders` threads; 0 means on the calling thread."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False)
    _pool = ThreadPoolExecutor(encoders, thread_name_prefix="vips-encode") if encoders > 0 else None


def submit(
    image: pyvips.Image, spec: VariantSpec, started: float, timings: dict[str, float]
) -> Future[Rendition]:
    """Encode `image` as `spec` says, recording the variant's time since `started`."""

    def run() -> Rendition:
        rendition = encode(image, spec)
        timings[f"variant.{spec.name}"] = ms(started)
        return rendition

    if _pool is not None:
        return _pool.submit(run)
    inline: Future[Rendition] = Future()
    inline.set_result(run())
    return inline


def encode(image: pyvips.Image, spec: VariantSpec, optimise: bool = False) -> Rendition:
    """`image` encoded in the spec's format (`auto`: WebP with alpha, else JPEG), metadata stripped;
    `optimise`: a JPEG's Huffman tables fitted to the picture (smaller, slower; `ordering`)."""
    fmt = spec.format if spec.format != "auto" else ("webp" if image.hasalpha() else "jpeg")
    longest = _MAX_SIDE.get(fmt)
    if longest is not None and max(image.width, image.height) > longest:
        raise ImageTooLarge(
            f"variant {spec.name!r} would be {image.width}x{image.height}: {fmt} holds at most"
            f" {longest} pixels a side"
        )
    options: dict[str, object] = {"keep": "none"}
    if fmt == "jpeg":
        image = colour.flatten(image, spec.background_rgb) if image.hasalpha() else image
        fast = None if optimise else turbo.encode(image, spec.quality)
        if fast is not None:
            return Rendition(spec.name, fmt, image.width, image.height, fast)
        options.update(Q=spec.quality, optimize_coding=optimise)
    elif fmt == "webp":
        options.update(Q=spec.quality, effort=WEBP_EFFORT)
    elif fmt == "avif":
        options.update(Q=spec.quality, compression="av1")
    data = bytes(op(_SAVER[fmt], image, **options))
    return Rendition(spec.name, fmt, image.width, image.height, data)
