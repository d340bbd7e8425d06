"""Read just enough of an ICC profile to tell whether it is already sRGB.

Most phone and camera JPEGs embed the standard sRGB profile; converting sRGB to sRGB costs a
full colour transform per image for no change, so the engine skips it.
"""

from __future__ import annotations

_HEADER = 128
_TAG_ENTRY = 12


def profile_description(profile: bytes) -> str | None:
    """The profile's `desc` text (ICC v2 `desc` or v4 `mluc`), or None if unreadable."""
    if len(profile) < _HEADER + 4:
        return None
    count = int.from_bytes(profile[_HEADER : _HEADER + 4], "big")
    for i in range(min(count, 100)):
        entry = profile[_HEADER + 4 + i * _TAG_ENTRY : _HEADER + 4 + (i + 1) * _TAG_ENTRY]
        if len(entry) < _TAG_ENTRY or entry[:4] != b"desc":
            continue
        offset = int.from_bytes(entry[4:8], "big")
        size = int.from_bytes(entry[8:12], "big")
        return _decode_text(profile[offset : offset + size])
    return None


def _decode_text(tag: bytes) -> str | None:
    if tag[:4] == b"desc" and len(tag) >= 12:
        length = int.from_bytes(tag[8:12], "big")
        return tag[12 : 12 + length].split(b"\x00", 1)[0].decode("latin-1")
    if tag[:4] == b"mluc" and len(tag) >= 28:
        length = int.from_bytes(tag[20:24], "big")
        offset = int.from_bytes(tag[24:28], "big")
        # Some writers count a terminating NUL into the record ("sRGB\0"): cut there, as for v2.
        return tag[offset : offset + length].decode("utf-16-be", errors="replace").split("\x00", 1)[0]
    return None


# Descriptions of the standard sRGB profiles as cameras, phones and editors embed them. Matched
# exactly: a name that merely starts with "sRGB" may be a linear or otherwise altered variant.
SRGB_DESCRIPTIONS = frozenset(
    {"srgb", "srgb iec61966-2.1", "srgb iec61966-2-1", "srgb built-in", "srgb profile", "srgb2014"}
)


def is_srgb(profile: bytes) -> bool:
    """True when the profile is a standard sRGB one, so converting to sRGB would change nothing."""
    if profile[16:20] != b"RGB ":
        return False
    description = profile_description(profile)
    return description is not None and description.strip().lower() in SRGB_DESCRIPTIONS
