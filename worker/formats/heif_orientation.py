"""Which way up a HEIF photo is: its primary picture's `irot` box against its EXIF orientation.

libheif always applies `irot` while decoding. Phones disagree about what it means: iPhones
write `irot` and an EXIF orientation that agree; some Android phones (HMD Nokia) write an
`irot` of 270 degrees over pixels that are already upright and EXIF orientation 1, so every
viewer that trusts `irot` alone shows the photo on its side. EXIF orientation is what people
and the rest of the engine go by; when a file has one, it wins.
"""

from __future__ import annotations

import struct

# EXIF orientation that turns the stored picture the way `irot` (anticlockwise quarter turns) does.
IROT_AS_EXIF = {0: 1, 1: 8, 2: 3, 3: 6}
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}


def boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the boxes in data[start:end]."""
    found = []
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        header = 8
        if size == 1 and start + 16 <= end:
            size, header = struct.unpack(">Q", data[start + 8 : start + 16])[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            break
        found.append((kind, start + header, start + size))
        start += size
    return found


def child(data: bytes, parent: tuple[int, int], kind: bytes) -> tuple[int, int] | None:
    return next(((s, e) for k, s, e in boxes(data, *parent) if k == kind), None)


def primary_rotation(data: bytes) -> int | None:
    """Anticlockwise quarter turns of the primary picture's `irot`, 0 without one; None when the
    boxes cannot be followed or the picture is also mirrored (then libheif's result stands)."""
    try:
        return _primary_rotation(data)
    except (IndexError, struct.error):
        return None  # a box that points past its data: libheif, not this reading, judges the file


def _primary_rotation(data: bytes) -> int | None:
    meta = child(data, (0, len(data)), b"meta")
    if meta is None:
        return None
    meta = (meta[0] + 4, meta[1])  # full box: version and flags
    pitm, iprp = child(data, meta, b"pitm"), child(data, meta, b"iprp")
    if pitm is None or iprp is None:
        return None
    version = data[pitm[0]]
    primary = int.from_bytes(data[pitm[0] + 4 : pitm[0] + (8 if version else 6)], "big")
    ipco, ipma = child(data, iprp, b"ipco"), child(data, iprp, b"ipma")
    if ipco is None or ipma is None:
        return None
    properties = boxes(data, *ipco)
    kinds = {properties[i - 1][0]: properties[i - 1][1] for i in _associations(data, ipma, primary)}
    if b"imir" in kinds:
        return None
    return data[kinds[b"irot"]] & 3 if b"irot" in kinds else 0


def _associations(data: bytes, ipma: tuple[int, int], item: int) -> list[int]:
    start, end = ipma
    version, flags = data[start], int.from_bytes(data[start + 1 : start + 4], "big")
    count = int.from_bytes(data[start + 4 : start + 8], "big")
    position = start + 8
    id_size, index_size = (4 if version else 2), (2 if flags & 1 else 1)
    for _ in range(count):
        if position + id_size + 1 > end:
            break
        entry = int.from_bytes(data[position : position + id_size], "big")
        n = data[position + id_size]
        position += id_size + 1
        indices = [
            int.from_bytes(data[position + k * index_size : position + (k + 1) * index_size], "big")
            & (0x7FFF if index_size == 2 else 0x7F)
            for k in range(n)
        ]
        position += n * index_size
        if entry == item:
            return [i for i in indices if i > 0]
    return []


def exif_orientation(exif: bytes | None) -> int | None:
    """The orientation tag (274) of an EXIF block (with or without its `Exif\\0\\0` header)."""
    if not exif:
        return None
    tiff = exif[exif.find(b"Exif\x00\x00") + 6 :] if b"Exif\x00\x00" in exif[:16] else exif
    if tiff[:2] not in (b"II", b"MM") or len(tiff) < 8:
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    if ifd + 2 > len(tiff):
        return None
    for k in range(struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]):
        entry = tiff[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        if len(entry) == 12 and struct.unpack(order + "H", entry[:2])[0] == 274:
            value = struct.unpack(order + "H", entry[8:10])[0]
            return value if 1 <= value <= 8 else None
    return None
