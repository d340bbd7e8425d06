"""Step one of a render: open the upload, read its header, guard the limits, decode on demand.

The decode policy: strict (`fail_on="warning"`), because libjpeg only *warns* about corrupt
entropy-coded data and then fills the damage with grey. Two kinds of warning leave the picture
intact and are recorded instead: bytes between a JPEG's header segments (dropped before the
decoder sees them, `worker.formats.jpeg`), and TIFF metadata libtiff cannot read (a bogus tag), for
which the render is retried once at `fail_on="truncated"`: still failing on truncation and on
every codec error, no longer on a tag nobody displays.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyvips

from shared.errors import CorruptImage, ImageTooLarge, UnsupportedFormat
from shared.limits import Limits
from worker.engine import heif, turbo
from worker.engine.ops import int_field
from worker.engine.reasons import classify
from worker.engine.results import SourceInfo
from worker.formats import jpeg
from worker.formats.geometry import Size
from worker.formats.sniff import SourceFormat, check_pixels

STRICT = "warning"
# Formats whose warnings can leave the picture whole, and the level their retry runs at.
TOLERANT: dict[SourceFormat, str] = {"tiff": "truncated"}
_LOADER_NICKS: dict[SourceFormat, str] = {
    "jpeg": "jpegload",
    "png": "pngload",
    "webp": "webpload",
    "gif": "gifload",
    "heif": "heifload",
    "avif": "heifload",
    "tiff": "tiffload",
}


@dataclass(frozen=True)
class Opened:
    """An upload whose header has been read: a lazy libvips image, or a HEIF picture for pi-heif."""

    fmt: SourceFormat
    data: bytes  # what the decoder reads (a JPEG with junk between segments dropped)
    fail_on: str
    warnings: tuple[str, ...]
    header: pyvips.Image | None = None
    picture: heif.Header | None = None


def open_source(data: bytes, fmt: SourceFormat, fail_on: str = STRICT) -> Opened:
    """Read the header only; raises a `PermanentError` for what the header already reveals."""
    warnings: list[str] = []
    if fmt == "jpeg":
        data, warnings = jpeg.repaired(data)
    if fmt == "heif" and heif.available():
        return Opened(fmt, data, fail_on, tuple(warnings), picture=heif.open_header(data))
    with decoding(fmt):
        return Opened(fmt, data, fail_on, tuple(warnings), header=_open(data, fmt, fail_on))


def decoded(source: Opened, shrink: int = 1, covering: Size | None = None) -> pyvips.Image:
    """The picture at 1/`shrink` scale (JPEG and WebP decode smaller; others ignore `shrink`).

    A clean 8-bit JPEG is decoded whole by libjpeg-turbo (`turbo`), down to 3/8 scale when that
    still covers `covering`; everything else streams from libvips' loader, which also decodes
    again any JPEG libjpeg-turbo found fault with.
    """
    if source.picture is not None:
        return heif.decode(source.picture)
    assert source.header is not None
    if source.fmt == "jpeg" and source.fail_on == STRICT:
        fast = turbo.decode(source.data, source.header, shrink, covering)
        if fast is not None:
            return fast
    if shrink == 1:
        return source.header
    return _open(source.data, source.fmt, source.fail_on, shrink)


def _open(data: bytes, fmt: SourceFormat, fail_on: str, shrink: int = 1) -> pyvips.Image:
    options: dict[str, object] = {"access": "sequential", "fail_on": fail_on}
    if shrink > 1:
        options.update({"shrink": shrink} if fmt == "jpeg" else {"scale": 1 / shrink})
    image = pyvips.Image.new_from_buffer(data, "", **options)
    loader = str(image.get("vips-loader"))
    if not loader.startswith(_LOADER_NICKS[fmt]):
        raise UnsupportedFormat(f"content sniffed as {fmt} but libvips chose {loader}")
    return image


def inspect(source: Opened, size: int, limits: Limits) -> SourceInfo:
    """The header's facts, once every pixel and frame limit has been checked."""
    info = _facts(source, size)
    if info.width < 1 or info.height < 1:
        raise CorruptImage(f"{info.format} header says {info.width}x{info.height}: a picture has no pixels")
    check_pixels(info.width, info.height, limits)
    if info.pages > limits.max_frames:
        raise ImageTooLarge(f"{info.pages} frames, over the limit of {limits.max_frames}")
    return info


def _facts(source: Opened, size: int) -> SourceInfo:
    if source.picture is not None:
        pic = source.picture
        bands = 4 if pic.has_alpha else 3
        return SourceInfo(
            source.fmt,
            pic.width,
            pic.height,
            pic.orientation,
            size,
            pic.pages,
            pic.has_alpha,
            pic.bits,
            bands,
        )
    header = source.header
    assert header is not None
    orientation = int_field(header, "orientation", 1)
    bits = int_field(header, "bits-per-sample", 16 if header.format == "ushort" else 8)
    return SourceInfo(
        format=source.fmt,
        width=header.width,
        height=header.height,
        orientation=orientation if 1 <= orientation <= 8 else 1,
        bytes=size,
        pages=int_field(header, "n-pages", 1),
        has_alpha=bool(header.hasalpha()),
        bits=bits,
        bands=header.bands,
        progressive=bool(int_field(header, "interlaced", 0)),
    )


@contextmanager
def decoding(fmt: SourceFormat) -> Iterator[None]:
    """Translate libvips errors into the taxonomy, with the log's meaningful line as the reason."""
    # libvips is lazy: a damaged file often fails only when pixels are pulled (in resize,
    # copy_memory or the encoder), so the whole render runs inside this translation.
    try:
        yield
    except pyvips.Error as exc:
        raise classify(fmt, f"{exc.detail or ''}\n{exc.message}") from exc
