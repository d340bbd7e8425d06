"""Decide an upload's format from its first bytes, before any decoder sees it.

The file name and Content-Type are the uploader's claims; the magic bytes are the truth. Only
the formats listed here ever reach libvips, so an SVG, PDF or text file named `.jpg` is refused
without a parser touching it.
"""

from __future__ import annotations

from typing import Literal

from shared.errors import CorruptImage, ImageTooLarge, UnsupportedFormat
from shared.limits import Limits

SourceFormat = Literal["jpeg", "png", "webp", "gif", "heif", "avif", "tiff"]

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff_format(data: bytes, limits: Limits) -> SourceFormat:
    """Return the format the content really is, or raise the matching `PermanentError`."""
    if not data:
        raise CorruptImage("empty file (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"file is {len(data)} bytes, over the limit of {limits.max_bytes}")
    fmt = _match(data)
    if fmt is None:
        raise UnsupportedFormat(f"content is not an allowed image format ({_describe(data)})")
    return fmt


def _match(data: bytes) -> SourceFormat | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[4:8] == b"ftyp" and data[8:12] in _AVIF_BRANDS:
        return "avif"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heif"
    return None


def _describe(data: bytes) -> str:
    head = data[:256].lstrip().lower()
    if head.startswith(b"<?xml") or b"<svg" in head:
        return "looks like SVG/XML"
    if head.startswith(b"%pdf"):
        return "looks like PDF"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in data[:64]):
        return "looks like text"
    return f"starts with bytes {data[:8].hex()}"
