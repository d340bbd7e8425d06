"""Decide an upload's format from its first bytes, before any decoder sees it.

The file name and Content-Type are the uploader's claims; the magic bytes are the truth. Only
the formats listed here ever reach libvips, so an SVG, PDF or text file named `.jpg` is refused
without a parser touching it.

A WebP's size is read here too, from its chunks: libvips' WebP loader allocates the whole
canvas (4 bytes a pixel) while it reads the header, so a 44-byte file claiming 16383x16383
reserved 1 GB before the pixel limit was checked, and failed "out of memory" where that much
could not be had. Here it is `ImageTooLarge` before libvips sees a byte.
"""

from __future__ import annotations

from typing import Literal

from shared.errors import CorruptImage, ImageTooLarge, UnsupportedFormat
from shared.limits import Limits

SourceFormat = Literal["jpeg", "png", "webp", "gif", "heif", "avif", "tiff"]

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_GENERIC_BRANDS = {b"mif1", b"msf1"}


def sniff_format(data: bytes, limits: Limits) -> SourceFormat:
    """Return the format the content really is, or raise the matching `PermanentError`."""
    if not data:
        raise CorruptImage("empty file (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"file is {len(data)} bytes, over the limit of {limits.max_bytes}")
    fmt = _match(data)
    if fmt is None:
        raise UnsupportedFormat(f"content is not an allowed image format ({_describe(data)})")
    if fmt == "webp" and (size := webp_size(data)) is not None:
        check_pixels(*size, limits)
    return fmt


def check_pixels(width: int, height: int, limits: Limits) -> None:
    """Raise `ImageTooLarge` when a picture of `width` x `height` is over the pixel limit."""
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"{width}x{height} is {width * height} pixels, over the limit of {limits.max_pixels}"
        )


def webp_size(data: bytes) -> tuple[int, int] | None:
    """The largest size a WebP's top-level chunks claim (the VP8X canvas, a VP8/VP8L frame),
    or None when none can be read (libvips then says what is wrong)."""
    sizes: list[tuple[int, int]] = []
    position = 12
    while position + 8 <= len(data) and len(sizes) < 8:
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        size = _chunk_size(data[position : position + 4], data[position + 8 : position + 18])
        if size is not None:
            sizes.append(size)
        position += 8 + length + (length & 1)
    return max(sizes, key=lambda size: size[0] * size[1], default=None)


def _chunk_size(kind: bytes, head: bytes) -> tuple[int, int] | None:
    """The size one chunk claims, from its first 10 bytes."""
    if kind == b"VP8X" and len(head) >= 10:  # flags, then the canvas: 24 bits width - 1, height - 1
        return 1 + int.from_bytes(head[4:7], "little"), 1 + int.from_bytes(head[7:10], "little")
    if kind == b"VP8L" and len(head) >= 5 and head[0] == 0x2F:  # signature, then 14 bits each, minus 1
        bits = int.from_bytes(head[1:5], "little")
        return 1 + (bits & 0x3FFF), 1 + (bits >> 14 & 0x3FFF)
    if kind == b"VP8 " and len(head) >= 10 and head[3:6] == b"\x9d\x01\x2a":  # key frame: 14 bits each
        return int.from_bytes(head[6:8], "little") & 0x3FFF, int.from_bytes(head[8:10], "little") & 0x3FFF
    return None


def _match(data: bytes) -> SourceFormat | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    # Classic TIFF (42) and BigTIFF (43, 64-bit offsets), either byte order.
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[4:8] == b"ftyp":
        return _heif_kind(data)
    return None


def _heif_kind(data: bytes) -> SourceFormat | None:
    # The major brand decides; a generic one (`mif1`, `msf1`) is AVIF when its compatible brands
    # list `avif` (AV1, decoded by libvips), else HEIF (HEVC, decoded by pi-heif).
    major = data[8:12]
    if major in _AVIF_BRANDS:
        return "avif"
    if major not in _HEIF_BRANDS:
        return None
    size = int.from_bytes(data[:4], "big")
    compatible = {data[i : i + 4] for i in range(16, min(size, len(data), 256) - 3, 4)}
    return "avif" if major in _GENERIC_BRANDS and compatible & _AVIF_BRANDS else "heif"


def _describe(data: bytes) -> str:
    head = data[:256].lstrip().lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        return "looks like SVG/XML"
    if head.startswith(b"%pdf"):
        return "looks like PDF"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in data[:64]):
        return "looks like text"
    return f"starts with bytes {data[:8].hex()}"
