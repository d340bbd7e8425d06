"""The upload key is the only place an imageId comes from, so it must match whole: a key with
anything after its extension (a trailing newline `$` would have let through) is another key and
must not claim the imageId of the one it resembles."""

from __future__ import annotations

import pytest

from shared.errors import InvalidKey
from shared.keys import UploadKey, parse_upload_key

pytestmark = pytest.mark.unit

TRAILERS = ["\n", "\r", "\r\n", " ", "\t", "\x0b", "\x0c", "\x00", "\x1f", "\x7f", "\x85", "\u2028", "\n\n"]


def test_a_valid_key_parses() -> None:
    assert parse_upload_key("uploads/alice/img1.JPG") == UploadKey("alice", "img1", "jpg")


@pytest.mark.parametrize("trailer", TRAILERS, ids=[repr(t) for t in TRAILERS])
def test_a_key_with_anything_after_its_extension_is_invalid(trailer: str) -> None:
    # Given a key that differs from a valid one only by a trailing control or space character
    key = f"uploads/alice/img1.jpg{trailer}"
    # When it is parsed, then it is refused instead of claiming imageId img1
    with pytest.raises(InvalidKey, match="does not match"):
        parse_upload_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "\nuploads/alice/img1.jpg",
        "uploads/alice\n/img1.jpg",
        "uploads/alice/img1\n.jpg",
        " uploads/alice/img1.jpg",
    ],
    ids=["leading-newline", "newline-in-user", "newline-in-image", "leading-space"],
)
def test_control_characters_anywhere_are_invalid(key: str) -> None:
    with pytest.raises(InvalidKey):
        parse_upload_key(key)
