"""JPEG at the marker level: what an upload's segments say, and a copy with only what decoding needs.

Three jobs need the segments and no pixels. A lossless `original`: an upright, 8-bit, sRGB (or
untagged) JPEG is already a web-ready file, so `original` is its own compressed stream without
EXIF, XMP, IPTC, comments, thumbnails and appended pictures (MPF), never re-encoded, never
bigger. And tolerance: bytes between header segments (some cameras and editors leave a few) make
libjpeg warn "extraneous bytes before marker" though they are outside the picture; dropping them
lets the strict decoder accept the file while real damage in the scan data still fails it.
And the upload's quantisation tables, from which the engine reads the quality it was saved at.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

SOI, EOI, SOS, DQT = 0xD8, 0xD9, 0xDA, 0xDB
APP0, APP2, APP14, COM = 0xE0, 0xE2, 0xEE, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length field
# Start-of-frame markers (C4 DHT, C8 JPG, CC DAC are not frames).
_SOF = {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}
_ICC_TAG = b"ICC_PROFILE\x00"
# A marker among compressed data: FF followed by anything but 00 (a stuffed FF), FF (fill) or RST0-7.
_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")


class Malformed(ValueError):
    """The segment structure cannot be followed; the decoder will give the real reason."""


@dataclass(frozen=True)
class Segment:
    """One marker segment: `data[start:end]` is the marker, its length field and its payload."""

    marker: int
    start: int
    end: int
    junk_before: int = 0  # non-marker bytes found between the previous segment and this one

    def payload(self, data: bytes) -> bytes:
        """The bytes after the length field."""
        return data[self.start + 4 : self.end]


@dataclass(frozen=True)
class Layout:
    """Header segments (everything before the first scan) and the frame they describe."""

    header: tuple[Segment, ...]
    scan_start: int  # offset of the first SOS marker
    precision: int
    components: int
    width: int
    height: int

    def icc_profile(self, data: bytes) -> bytes | None:
        """The embedded ICC profile (APP2 chunks joined), or None."""
        chunks = [s.payload(data) for s in self.header if s.marker == APP2]
        parts = [c[14:] for c in chunks if c.startswith(_ICC_TAG)]
        return b"".join(parts) or None

    def adobe(self, data: bytes) -> bytes | None:
        """The APP14 Adobe payload (says whether 3 or 4 components are YCC, RGB or CMYK)."""
        return next((s.payload(data) for s in self.header if s.marker == APP14), None)

    def junk(self) -> list[str]:
        """Warnings for the bytes that stood between header segments."""
        return [
            f"{s.junk_before} extraneous bytes before marker 0x{s.marker:02x} (outside the picture, dropped)"
            for s in self.header
            if s.junk_before
        ]


def layout(data: bytes) -> Layout:
    """Follow the segments of `data`; raises `Malformed` where they cannot be followed."""
    if not data.startswith(b"\xff\xd8"):
        raise Malformed("no SOI marker")
    header = []
    frame: tuple[int, int, int, int] | None = None
    position = 2
    while True:
        segment = _segment_at(data, position)
        if segment.marker == SOS:
            break
        header.append(segment)
        if segment.marker in _SOF and frame is None:
            frame = _frame(segment.payload(data))
        position = segment.end
    if frame is None:
        raise Malformed("no frame header before the first scan")
    precision, height, width, components = frame
    return Layout(tuple(header), segment.start, precision, components, width, height)


def _segment_at(data: bytes, position: int) -> Segment:
    start = data.find(b"\xff", position)
    while start != -1 and start + 1 < len(data) and data[start + 1] in (0xFF, 0x00):
        start = data.find(b"\xff", start + 1)  # fill bytes, or a stray FF00 outside any scan
    if start == -1 or start + 4 > len(data):
        raise Malformed("the header ends before the first scan")
    marker = data[start + 1]
    if marker in _STANDALONE or marker in (SOI, EOI):
        raise Malformed(f"unexpected marker 0x{marker:02x} in the header")
    end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    if end > len(data) or end < start + 4:
        raise Malformed(f"segment 0x{marker:02x} runs past the end of the file")
    fill = len(data[position:start]) - len(data[position:start].rstrip(b"\xff"))
    return Segment(marker, start, end, start - position - fill)


def _frame(payload: bytes) -> tuple[int, int, int, int]:
    if len(payload) < 6:
        raise Malformed("frame header too short")
    return payload[0], int.from_bytes(payload[1:3], "big"), int.from_bytes(payload[3:5], "big"), payload[5]


def component_tables(data: bytes, shape: Layout) -> list[tuple[int, ...] | None]:
    """Each frame component's quantisation table as its DQT stores it (zigzag order, 8 or 16 bits),
    or None for a component whose table the header does not define.

    A later definition of a table id replaces an earlier one, as in a decoder. Whatever cannot be
    read (a precision or id out of range, a table cut short) ends that segment's reading: the
    decoder, not this, says what is wrong with the file.
    """
    tables: dict[int, tuple[int, ...]] = {}
    for segment in shape.header:
        if segment.marker == DQT:
            tables.update(_defined_tables(segment.payload(data)))
    frame = next((s.payload(data) for s in shape.header if s.marker in _SOF), b"")
    selectors = frame[8 : 6 + 3 * shape.components : 3]  # each component: id, sampling, table id
    return [tables.get(selector) for selector in selectors]


def _defined_tables(payload: bytes) -> Iterator[tuple[int, tuple[int, ...]]]:
    position = 0
    while position < len(payload):
        precision, ident = payload[position] >> 4, payload[position] & 0x0F
        size = 64 << precision
        if precision > 1 or ident > 3 or position + 1 + size > len(payload):
            return
        table = payload[position + 1 : position + 1 + size]
        yield ident, tuple(table) if precision == 0 else struct.unpack(">64H", table)
        position += 1 + size


def _picture_end(data: bytes, scan_start: int) -> int:
    # Entropy-coded data escapes every FF as FF00 and carries only RSTn markers, so the first
    # other marker after a scan ends it; the primary picture ends at its EOI (phones append
    # more pictures after it, MPF). The regex finds those markers in C: about one byte in 256 of
    # compressed data is an FF, some 10,000 in a 12 MP photo, too many for a loop in Python.
    position = scan_start
    while (found := _MARKER.search(data, position)) is not None:
        marker = found.start()
        code = data[marker + 1]
        if code == EOI:
            return marker + 2
        if code in _STANDALONE:
            position = marker + 1
            continue
        if marker + 4 > len(data):
            return len(data)
        position = marker + 2 + int.from_bytes(data[marker + 2 : marker + 4], "big")
    return len(data)


def stripped(data: bytes, shape: Layout) -> bytes:
    """`data` with only what decoding needs: no APPn but JFIF (without its thumbnail) and Adobe,
    no comments, no ICC profile, nothing after the picture's EOI, no bytes between segments."""
    header = [_jfif_without_thumbnail(c) if m == APP0 else c for m, c in _kept(data, shape)]
    # Found only here: following the scans costs a pass over the data, which the header alone
    # (read for every upload before its render is admitted) must not pay.
    scans = _scans_without_metadata(data, shape.scan_start, _picture_end(data, shape.scan_start))
    parts: list[bytes | memoryview] = [b"\xff\xd8", *header, *scans]
    tail = b"".join(bytes(part[-2:]) for part in parts[-2:])[-2:]
    return b"".join([*parts, b"" if tail == b"\xff\xd9" else b"\xff\xd9"])


def _kept(data: bytes, shape: Layout) -> Iterator[tuple[int, bytes]]:
    for segment in shape.header:
        chunk = data[segment.start : segment.end]
        if _needed(segment.marker, chunk):
            yield segment.marker, chunk


def _needed(marker: int, chunk: bytes) -> bool:
    if marker == APP0:
        return chunk[4:9] == b"JFIF\x00"
    if marker == APP14:
        return chunk[4:9] == b"Adobe"
    return not (0xE0 <= marker <= 0xEF or marker == COM)


def _jfif_without_thumbnail(chunk: bytes) -> bytes:
    if len(chunk) < 18:
        return chunk
    body = bytearray(chunk[4:18])
    body[12:14] = b"\x00\x00"  # thumbnail width and height 0, its pixels dropped
    return b"\xff\xe0" + (len(body) + 2).to_bytes(2, "big") + bytes(body)


def _scans_without_metadata(data: bytes, start: int, stop: int) -> list[memoryview]:
    # Between the scans of a progressive JPEG only tables belong; an APPn or COM there is dropped.
    # The kept runs are views, joined once by the caller: a 24 MP scan is copied once, not per run.
    view, parts = memoryview(data), []
    position = start
    while (found := _MARKER.search(data, position, stop)) is not None:
        marker = found.start()
        code = data[marker + 1]
        if code in _STANDALONE or code == EOI:
            parts.append(view[position : marker + 2])
            position = marker + 2
            continue
        end = min(stop, marker + 2 + int.from_bytes(data[marker + 2 : marker + 4], "big"))
        parts.append(view[position:marker])
        if _needed(code, data[marker:end]) and code != APP0:
            parts.append(view[marker:end])
        position = end
    parts.append(view[position:stop])
    return [part for part in parts if len(part)]


def repaired(data: bytes) -> tuple[bytes, list[str]]:
    """`data` without bytes between its header segments, and a warning for each run dropped.

    Anything that cannot be followed is returned unchanged: the decoder then names the problem.
    """
    try:
        shape = layout(data)
    except Malformed:
        return data, []
    if not any(s.junk_before for s in shape.header):
        return data, []
    body = b"".join(data[s.start : s.end] for s in shape.header)
    return b"\xff\xd8" + body + data[shape.scan_start :], shape.junk()
