"""Byte-level damage to valid image files, for the hostile corpus (`corpus`): headers patched to
other dimensions, bits flipped, container brands swapped, JPEG segments and PNG chunks inserted.

Each edit knows just enough of its format to reach the field it changes; the rest of the file
stays as the encoder wrote it.
"""

from __future__ import annotations

import random
import struct
import zlib


def rebrand(avif: bytes, brand: bytes) -> bytes:
    """The same AV1 HEIF under another major brand (`mif1`: HEIF, as sniff and libheif see it)."""
    at = avif.index(b"ftyp") + 4
    return avif[:at] + brand + avif[at + 4 :]


def patch_dims(fmt: str, data: bytes, width: int, height: int) -> bytes:
    """`data` with its header's dimensions replaced (pixel data untouched)."""
    out = bytearray(data)
    if fmt == "jpeg":
        at = next(i for i in range(2, len(out) - 9) if out[i] == 0xFF and out[i + 1] in (0xC0, 0xC1, 0xC2))
        out[at + 5 : at + 9] = struct.pack(">HH", min(height, 65535), min(width, 65535))
    elif fmt == "png":
        out[16:24] = struct.pack(">II", width, height)
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    elif fmt == "gif":  # the logical screen, and the first frame's descriptor, which decoders use
        out[6:10] = struct.pack("<HH", min(width, 65535), min(height, 65535))
        at = _gif_descriptor(out)
        out[at + 5 : at + 9] = struct.pack("<HH", min(width, 65535), min(height, 65535))
    elif fmt == "webp":
        at = out.index(b"\x9d\x01\x2a") + 3
        out[at : at + 4] = struct.pack("<HH", min(width, 16383), min(height, 16383))
    elif fmt == "tiff":
        (ifd,) = struct.unpack_from("<I", out, 4)
        (count,) = struct.unpack_from("<H", out, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, kind = struct.unpack_from("<HH", out, entry)
            if tag in (256, 257):
                value = width if tag == 256 else height
                struct.pack_into("<I" if kind == 4 else "<H", out, entry + 8, min(value, 65535))
    else:  # avif, heif, heic: the ispe (image spatial extents) property
        at = out.index(b"ispe") + 8
        out[at : at + 8] = struct.pack(">II", width, height)
    return bytes(out)


def _gif_descriptor(data: bytearray) -> int:
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[at] == 0x21:  # extension blocks: label, then sub-blocks up to a 0 length
        at += 2
        while data[at]:
            at += data[at] + 1
        at += 1
    return at


def flips(name: str, data: bytes, count: int, seed: int) -> bytes:
    """`data` with `count` bits flipped at places chosen by `name`, `count` and `seed` (repeatable)."""
    rng = random.Random(f"{name}-{count}-{seed}")
    out = bytearray(data)
    for _ in range(count):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def jpeg_segments(data: bytes, marker: int, payload: bytes, count: int) -> bytes:
    """A JPEG with `count` segments `marker` carrying `payload` right after its SOI."""
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + segment * count + data[2:]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_insert(png: bytes, chunk: bytes) -> bytes:
    """`png` with `chunk` inserted right after its IHDR."""
    return png[:33] + chunk + png[33:]  # right after IHDR
