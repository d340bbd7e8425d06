"""Text in a HEIF file's item list that pi-heif cannot take, found before pi-heif reads it.

pi-heif 1.4 turns each metadata item's type and content type into a Python string without
checking the result: a byte sequence that is not UTF-8 there (a fuzzed or damaged `infe` box)
crashes the whole process with SIGSEGV (fixed upstream in pillow_heif#478, in no pi-heif release
this build can install yet). A crash is worse than any error: the worker dies with its whole
batch, and every record in it is retried until SQS dead-letters it without a reason. The format
says these are UTF-8, so a file that breaks that is damaged, and refused as such.
"""

from __future__ import annotations

from worker.formats.heif_orientation import boxes, child


def unreadable_item_text(data: bytes) -> str | None:
    """What in the `iinf` item list is not UTF-8 as the format requires, or None."""
    meta = child(data, (0, len(data)), b"meta")
    iinf = child(data, (meta[0] + 4, meta[1]), b"iinf") if meta is not None else None
    if iinf is None:
        return None  # nothing to read here: libheif names what is missing
    start, end = iinf
    first = start + (6 if data[start : start + 1] == b"\x00" else 8)  # version, flags, 16/32-bit count
    for kind, payload, stop in boxes(data, first, end):
        if kind == b"infe" and (problem := _entry_problem(data[payload:stop])) is not None:
            return problem
    return None


def _entry_problem(entry: bytes) -> str | None:
    version = entry[0] if entry else 0
    texts = []
    if version < 2:  # version/flags, 16-bit id, protection index
        rest = entry[8:]
    else:  # version/flags, 16- or 32-bit id, protection index, the item type's four characters
        at = 4 + (2 if version == 2 else 4) + 2
        texts.append(entry[at : at + 4])
        rest = entry[at + 4 :]
    # item_name, then content_type and content_encoding (MIME items): NUL-terminated strings.
    texts.extend(rest.split(b"\x00")[:3])
    for text in texts:
        try:
            text.decode("utf-8")
        except UnicodeDecodeError:
            return f"item text {text[:40]!r} in its 'infe' box is not UTF-8"
    return None
