"""What an upload may be, decided before it exists: its content type, its key's extension, and
the original-filename metadata the worker reads back.

The client API refuses a type the engine does not take before it signs anything; the worker
still decides by the bytes (`sniff`), so these are the claims a well-behaved client makes. The
file name travels URL-quoted in the object metadata `original-filename` (S3 metadata is ASCII
and at most 2 KB), and `decode_original_filename` is how the worker reads it back.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import quote, unquote

from shared.errors import InvalidKey, UnsupportedFormat

ORIGINAL_FILENAME_METADATA = "original-filename"  # x-amz-meta-original-filename
MAX_FILENAME = 255  # characters of a name kept, as the worker keeps them
# S3 takes at most 2 KB of user metadata in all; a name quoted to more is shortened, never refused.
MAX_ENCODED_FILENAME = 1024

# Content type -> the extensions a file of that type may carry (lower case, no dot). The engine
# sniffs jpeg, png, webp, gif, tiff, heif and avif; HEIC and HEIF are one container.
CONTENT_TYPES: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({"jpg", "jpeg"}),
    "image/png": frozenset({"png"}),
    "image/webp": frozenset({"webp"}),
    "image/gif": frozenset({"gif"}),
    "image/tiff": frozenset({"tif", "tiff"}),
    "image/heic": frozenset({"heic", "heif"}),
    "image/heif": frozenset({"heif", "heic"}),
    "image/avif": frozenset({"avif"}),
}
# The engine's sniffed format -> the content type a client declares for it.
FORMAT_CONTENT_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    "tiff": "image/tiff", "heif": "image/heic", "avif": "image/avif",
}  # fmt: skip
ACCEPTED = ", ".join(CONTENT_TYPES)
_EXTENSION = re.compile(r"[a-z0-9]{1,10}")


def base_name(filename: str) -> str:
    """The file's own name from what a client sends (`C:\\fakepath\\a.jpg` -> `a.jpg`), or
    `InvalidKey` when nothing usable is left."""
    name = re.split(r"[/\\]", filename.strip())[-1].strip()
    if not name or name in {".", ".."}:
        raise InvalidKey(f"{filename!r} names no file: give the file's name, e.g. photo.jpg")
    if len(name) > MAX_FILENAME:
        raise InvalidKey(f"file name is {len(name)} characters, over {MAX_FILENAME}")
    return name


def upload_extension(name: str, content_type: str) -> str:
    """The key's extension for file `name` declared as `content_type`: the name's own suffix,
    lower case, when the engine takes that type and the suffix fits it; else the matching error."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    if not _EXTENSION.fullmatch(suffix):
        raise InvalidKey(f"{name!r} has no usable extension (e.g. .jpg, .png, .heic)")
    allowed = CONTENT_TYPES.get(content_type.lower())
    if allowed is None:
        raise UnsupportedFormat(f"content type {content_type!r} is not one of {ACCEPTED}")
    if suffix not in allowed:
        expected = ", ".join(f".{ext}" for ext in sorted(allowed))
        raise UnsupportedFormat(f"{name!r} is declared {content_type.lower()}, which is named {expected}")
    return suffix


def encode_original_filename(name: str) -> str:
    """The metadata value for file `name`: URL-quoted, shortened from the end of its stem to fit."""
    encoded = quote(name)
    if len(encoded) <= MAX_ENCODED_FILENAME:
        return encoded
    path = PurePosixPath(name)
    stem, suffix = path.stem, path.suffix
    while len(quote(stem + suffix)) > MAX_ENCODED_FILENAME:
        stem, suffix = (stem[:-1], suffix) if stem else (stem, suffix[:-1])
    return quote(stem + suffix)


def decode_original_filename(raw: str | None) -> str | None:
    """The uploader's file name from the metadata value, or None when there is none."""
    return unquote(raw)[:MAX_FILENAME] if raw else None
