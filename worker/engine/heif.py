"""HEIC/HEIF photos (HEVC): decoded by pi-heif's libheif, its pixels handed to libvips.

iPhones and many Android phones shoot HEIC, and the libheif inside pyvips-binary carries no HEVC
decoder. pi-heif is a decode-only libheif build with libde265. libheif applies the file's own
rotation (irot) while decoding; where the file's EXIF orientation disagrees, that rotation is
undone and the EXIF orientation applied like a JPEG's (`worker.formats.heif_orientation`). The ICC
profile is attached for the colour step; nothing else of the file's metadata reaches libvips.
AVIF keeps going through libvips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvips

from worker.engine.reasons import classify, translate
from worker.formats.heif_items import unreadable_item_text
from worker.formats.heif_orientation import IROT_AS_EXIF, exif_orientation, primary_rotation

try:
    import pi_heif

    # Only the primary picture is decoded: the auxiliary, depth and thumbnail items are not
    # read at all (less of the file reaches pi-heif's wrapper, the part that once crashed).
    pi_heif.options.AUX_IMAGES = pi_heif.options.DEPTH_IMAGES = pi_heif.options.THUMBNAILS = False
except ImportError:  # pragma: no cover - a build without it sends HEIC to libvips, which names the gap
    pi_heif = None

_BANDS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


@dataclass(frozen=True)
class Header:
    """The primary picture of a HEIF file, read without decoding a pixel (stored size)."""

    picture: Any = None  # pi_heif.HeifImage; decoded on first access to its `data`
    width: int = 0
    height: int = 0
    orientation: int = 1  # EXIF orientation still to apply
    undo_turns: int = 0  # clockwise quarter turns that undo libheif's irot
    bits: int = 8
    has_alpha: bool = False
    pages: int = 1


def available() -> bool:
    """True when this build can decode HEVC (pi-heif is installed)."""
    return pi_heif is not None


def set_threads(threads: int) -> None:
    """Threads libheif may use to decode one picture's tiles."""
    if pi_heif is not None:
        pi_heif.options.DECODE_THREADS = threads


def open_header(data: bytes) -> Header:
    """Parse the boxes and the primary picture's header; raises a `PermanentError`."""
    assert pi_heif is not None
    # Whatever pi-heif raises on these bytes is this file's fault: libheif's errors arrive as
    # ValueError, EOFError, RuntimeError and, for "Unsupported feature", SyntaxError; a box name
    # that is not UTF-8 as UnicodeDecodeError. All of them, not a list that misses one.
    if (problem := unreadable_item_text(data)) is not None:
        raise classify("heif", f"heif: {problem}")  # pi-heif would crash the process on it
    try:
        heif = pi_heif.open_heif(data, convert_hdr_to_8bit=True)
        picture = heif[heif.primary_index]
        bits = int(heif.info.get("bit_depth") or 8)
        width, height = picture.size
        exif = exif_orientation(heif.info.get("exif"))
        has_alpha, pages = bool(picture.has_alpha), len(heif)
    except Exception as exc:
        raise translate("heif", exc) from exc
    rotation = primary_rotation(data)
    if rotation is None or exif is None or IROT_AS_EXIF[rotation] == exif:
        return Header(picture, width, height, 1, 0, bits, has_alpha, pages)
    if rotation % 2:
        width, height = height, width
    return Header(picture, width, height, exif, rotation, bits, has_alpha, pages)


def decode(header: Header) -> pyvips.Image:
    """Decode the primary picture (8 bits a sample) into a libvips image with its ICC profile."""
    picture = header.picture
    try:  # the decode runs here, on first access to `data` (see `open_header` for what it raises)
        pixels, stride, mode, (width, height) = picture.data, picture.stride, picture.mode, picture.size
        premultiplied, profile_type = picture.premultiplied_alpha, picture.info.get("icc_profile_type")
        profile = picture.info.get("icc_profile")
    except Exception as exc:
        raise translate("heif", exc) from exc
    bands = _BANDS.get(mode)
    if bands is None:
        raise classify("heif", f"heif: unsupported pixel layout {mode}")
    image = _from_rows(pixels, stride, width, height, bands)
    if header.undo_turns:
        image = pyvips.Operation.call("rot", image, f"d{90 * header.undo_turns}")
    image = image.copy(interpretation="srgb" if bands >= 3 else "b-w")
    if header.orientation != 1:
        image.set_type(pyvips.GValue.gint_type, "orientation", header.orientation)
    if premultiplied:
        image = pyvips.Operation.call("cast", pyvips.Operation.call("unpremultiply", image), "uchar")
    if profile and profile_type != "nclx":
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", bytes(profile))
    return image


def _from_rows(pixels: Any, stride: int, width: int, height: int, bands: int) -> pyvips.Image:
    # libheif pads rows to its own alignment; libvips wants them packed. A padded row that is a
    # whole number of pixels is cropped without a copy.
    if stride == width * bands:
        return pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
    if stride % bands == 0:
        padded = pyvips.Image.new_from_memory(pixels, stride // bands, height, bands, "uchar")
        return pyvips.Operation.call("crop", padded, 0, 0, width, height)
    view = memoryview(pixels)
    packed = b"".join(view[row * stride : row * stride + width * bands] for row in range(height))
    return pyvips.Image.new_from_memory(packed, width, height, bands, "uchar")
