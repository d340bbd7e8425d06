"""The image engine: the only package that imports pyvips (and pi-heif and simplejpeg).

Its modules are the pipeline's steps: `load` (sniffed bytes to a header, limits, decode policy,
`heif` for HEVC, `turbo` for libjpeg-turbo's JPEG decode and encode), `original` (the lossless
original), `resize` (scale, crop: the sizes come from `worker.formats.geometry`), `colour`
(sRGB, 8 bits, orientation, alpha), `watermark`, `encode` (at no more than a JPEG upload's own
quality, `worker.formats.jpeg_quality`), `ordering` (no variant costs more bytes than one with
more pixels), `placeholder` (a ThumbHash and mean colour of the picture); `render` runs them in
order and `reasons` turns a decoder's log into an actionable error.
"""

from __future__ import annotations

import pyvips

from worker.engine import encode, heif
from worker.engine.allocator import keep_freed_buffers
from worker.engine.memory import estimate as estimate_memory
from worker.engine.ops import lock_down
from worker.engine.render import Probed, open_upload, probe, render
from worker.engine.results import (
    CONTENT_TYPES,
    Placeholder,
    RenderCancelled,
    RenderResult,
    Rendition,
    SourceInfo,
)

__all__ = [
    "CONTENT_TYPES",
    "Placeholder",
    "Probed",
    "RenderCancelled",
    "RenderResult",
    "Rendition",
    "SourceInfo",
    "estimate_memory",
    "open_upload",
    "probe",
    "render",
    "set_threads",
]

lock_down()
keep_freed_buffers()


def set_threads(threads: int, encoders: int = 0) -> None:
    """Threads per libvips pipeline (and per HEIF decode), and a pool that encodes one image's
    variants side by side (`encoders` = 0: on the calling thread)."""
    pyvips.concurrency_set(threads)
    heif.set_threads(threads)
    encode.set_pool(encoders)
