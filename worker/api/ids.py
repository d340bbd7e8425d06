"""New imageIds that sort newest first, and the opaque cursor of a listing page.

S3 lists a prefix in key order and nothing else, so the order a user's images are listed in is
decided when their ids are made: a fixed-width count of milliseconds *until* a far date comes
first (a later upload has a smaller number), then random bits so two uploads in one
millisecond never share an id. Ids of `imgpipe upload` (`img_...`) sort after every API upload.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time

# Milliseconds up to 10**13 (the year 2286): 13 digits, so every id has the same width.
_HORIZON_MS = 10**13
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
# A cursor only positions a listing inside the caller's own prefix (S3's StartAfter), so any name
# is harmless; this only keeps out what no key this API lists could be.
_AFTER = re.compile(r"[^\x00-\x1f\x7f/]{1,1024}")


def new_image_id(now_ms: int | None = None) -> str:
    """An id that sorts before every id made earlier: `{inverted ms:013d}-{16 random hex}`."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return f"{_HORIZON_MS - 1 - ms:013d}-{secrets.token_hex(8)}"


def is_image_id(value: str) -> bool:
    """True when `value` can be an imageId at all (anything else cannot exist)."""
    return _ID.fullmatch(value) is not None


def encode_cursor(last_name: str) -> str:
    """The cursor after the upload named `last_name` (`{imageId}.{ext}`, the key's last part)."""
    return base64.urlsafe_b64encode(last_name.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | None:
    """The upload name a cursor stands for, or None when it is not one this API gave out."""
    try:
        name = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return name if _AFTER.fullmatch(name) else None
