"""JPEG through libjpeg-turbo (simplejpeg): the decode of the JPEGs it decodes cleanly, and the encode.

The mozjpeg inside pyvips-binary decodes 8-bit JPEGs about a fifth slower than libjpeg-turbo
(docs/performance.md), and decoding is over half of a render. Only a plain 8-bit YCbCr/RGB or
greyscale JPEG comes this way, and only when libjpeg-turbo decodes it without a single warning
(`strict`, the same line the libvips decode policy draws). Its warnings about damaged data
are refused with libjpeg's words, per call (libvips' error log is one per process, and at a
shrink-on-load scale it may not see the damage at all); every other file it declines goes
through libvips, which names what is unsupported or wrong. The pixels are the same: both are
libjpeg's islow IDCT with fancy upsampling and the same DCT scaling, and the picture is cut to
libvips' size (it rounds scaled sizes down).

Encoding is a third faster than pyvips-binary's `jpegsave` too, with its settings: the same
quantisation tables at the spec's quality, 4:2:0 chroma below quality 90 (libvips' `auto`),
baseline Huffman coding, no metadata but the JFIF header. The error is 1-3% above libvips'
at the same size (chroma downsampling differs), well below what a quality step changes.
"""

from __future__ import annotations

import numpy as np
import pyvips
import simplejpeg  # type: ignore[import-untyped]

from worker.engine.ops import op
from worker.engine.reasons import classify
from worker.formats.geometry import Size

_COLOURSPACES = {("srgb", 3): "RGB", ("b-w", 1): "GRAY"}
# libjpeg-turbo holds the whole picture, where libvips streams it in strips: bigger pictures
# take the streaming path, so memory stays what `memory.estimate` says.
MAX_PIXELS = 50_000_000
# Encoding needs the pixels copied out of libvips first; past ~10 MP that copy is a fresh
# mapping whose page faults cost more than libjpeg-turbo saves (24 MP: 36 ms copy + 66 ms
# encode against 74 ms in libvips), so big variants, such as a re-encoded original, stay there.
ENCODE_MAX_PIXELS = 8_000_000
# libjpeg's warnings about damaged data (corrupt entropy-coded data, a truncated file).
_DAMAGE = ("corrupt jpeg data", "premature end of jpeg file")
# The metadata the engine's later steps read from the decoded image.
_KEPT_FIELDS = ("icc-profile-data", "orientation")


def decode(
    data: bytes, header: pyvips.Image, shrink: int, covering: Size | None = None
) -> pyvips.Image | None:
    """The JPEG at 1/`shrink` scale, or smaller while it still covers `covering`, in memory with
    `header`'s metadata; None to decode it with libvips instead."""
    colourspace = _COLOURSPACES.get((header.interpretation, header.bands))
    if colourspace is None or header.format != "uchar":
        return None
    width, height = _scaled_size(header, shrink, covering)
    if width * height > MAX_PIXELS or min(width, height) < 1:
        return None
    try:
        pixels = simplejpeg.decode_jpeg(
            data, colorspace=colourspace, min_width=width, min_height=height, strict=True
        )
    except Exception as exc:
        if isinstance(exc, ValueError) and str(exc).lower().startswith(_DAMAGE):
            # libjpeg's warning about this file's own data, which the decode policy refuses;
            # libvips would not always see it again (not at every shrink-on-load scale).
            raise classify("jpeg", f"jpeg: {exc}") from exc
        # Anything else (an error, a failed allocation of the whole picture): libvips, which
        # streams, decodes it again and names the reason.
        return None
    rows, columns = pixels.shape[:2]
    if rows < height or columns < width or rows > height + 1 or columns > width + 1:
        return None  # not the scale asked for (it never should be)
    image = pyvips.Image.new_from_memory(pixels.data, columns, rows, header.bands, "uchar")
    if (columns, rows) != (width, height):
        image = op("extract_area", image, 0, 0, width, height)
    return _with_metadata(image, header)


def _scaled_size(header: pyvips.Image, shrink: int, covering: Size | None) -> tuple[int, int]:
    # libjpeg-turbo also scales by 3/8, between libvips' 1/2 and 1/4: a 24 MP photo decodes to
    # 44% fewer pixels for the resize that follows (the scales between 1/2 and 1 decode slower
    # than 1/1, so they are not used). Sizes round down, as libvips' do.
    if covering is not None and shrink == 2:
        size = Size(header.width * 3 // 8, header.height * 3 // 8)
        if size.covers(covering):
            return size.width, size.height
    return header.width // shrink, header.height // shrink


def _with_metadata(image: pyvips.Image, header: pyvips.Image) -> pyvips.Image:
    image = op("copy", image, interpretation=header.interpretation, xres=header.xres, yres=header.yres)
    for name in _KEPT_FIELDS:
        kind = header.get_typeof(name)
        if kind:
            image.set_type(kind, name, header.get(name))
    return image


def encode(image: pyvips.Image, quality: int) -> bytes | None:
    """`image` (8-bit sRGB or grey) as a JPEG; None for a layout it does not take."""
    colourspace = {3: "RGB", 1: "GRAY"}.get(image.bands)
    if colourspace is None or image.format != "uchar" or image.width * image.height > ENCODE_MAX_PIXELS:
        return None
    # Pulling the pixels runs the lazy pipeline (resize, colour, rotate) that feeds the encoder.
    pixels = np.frombuffer(image.write_to_memory(), np.uint8).reshape(image.height, image.width, image.bands)
    subsampling = "Gray" if image.bands == 1 else ("420" if quality < 90 else "444")
    return bytes(
        simplejpeg.encode_jpeg(pixels, quality=quality, colorspace=colourspace, colorsubsampling=subsampling)
    )
