"""The lossless `original`: an upload that is already a web-ready JPEG is kept, not re-encoded.

An upright (orientation 1 or none), 8-bit, baseline or progressive Huffman JPEG in sRGB or
untagged is what `original` would re-encode at Q85: decoding and re-encoding it costs the most
of any variant and often gives a bigger file. Its own compressed stream with the metadata
segments removed (`worker.formats.jpeg.stripped`) has exactly the upload's pixels and is never bigger.
Arithmetic-coded and 12-bit JPEGs are re-encoded: browsers do not all decode them.
"""

from __future__ import annotations

from shared.variants import VariantSpec
from worker.engine.load import Opened
from worker.engine.results import Rendition, SourceInfo
from worker.formats import jpeg
from worker.formats.geometry import Size, plan_variant
from worker.formats.icc import is_srgb

_WEB_FRAMES = {0xC0, 0xC1, 0xC2}  # baseline, extended sequential, progressive (Huffman)


def lossless(source: Opened, info: SourceInfo, spec: VariantSpec) -> Rendition | None:
    """`spec`'s variant as the upload's own stream without metadata, or None if it must be rendered."""
    full = Size(info.width, info.height)
    if (
        source.fmt != "jpeg"
        or info.orientation != 1
        or spec.watermark is not None
        or spec.format not in ("jpeg", "auto")
        or plan_variant(full, spec) != (full, full)
    ):
        return None
    try:
        shape = jpeg.layout(source.data)
    except jpeg.Malformed:
        return None
    frame = next((s.marker for s in shape.header if s.marker in _WEB_FRAMES), None)
    profile = shape.icc_profile(source.data)
    if (
        frame is None
        or shape.precision != 8
        or shape.components not in (1, 3)
        or (shape.width, shape.height) != (info.width, info.height)
        or (profile is not None and not is_srgb(profile))
    ):
        return None
    return Rendition(spec.name, "jpeg", info.width, info.height, jpeg.stripped(source.data, shape))
