"""New imageIds list newest first in S3's key order, and a listing cursor is opaque but checked."""

from __future__ import annotations

import re

import pytest

from shared.keys import parse_upload_key
from worker.api.ids import decode_cursor, encode_cursor, is_image_id, new_image_id

pytestmark = pytest.mark.unit


def test_a_later_id_sorts_before_an_earlier_one() -> None:
    # Given ids made at increasing times, across a change in the number of digits of the time
    times = [0, 1, 999, 1_000, 1_765_000_000_000, 1_765_000_000_001, 9_999_999_999_998]
    ids = [new_image_id(now_ms=ms) for ms in times]
    # Then S3's order (plain string order) is newest first
    assert sorted(ids) == list(reversed(ids))


def test_ids_made_in_one_millisecond_are_distinct_and_all_keys_stay_valid() -> None:
    ids = {new_image_id(now_ms=1_765_000_000_000) for _ in range(1000)}
    assert len(ids) == 1000
    for image_id in ids:
        assert re.fullmatch(r"[0-9]{13}-[0-9a-f]{16}", image_id)
        assert is_image_id(image_id)
        assert parse_upload_key(f"uploads/alice/{image_id}.jpg").image_id == image_id


def test_an_id_made_now_sorts_before_imgpipe_uploads_content_ids() -> None:
    # `imgpipe upload` names images img_<hash>: after every API upload in the listing
    assert new_image_id() < "img_00000000000000000000000000000000"


@pytest.mark.parametrize("value", ["", "a.b", "a/b", "x" * 129, "a\n", "ü"])
def test_what_cannot_be_an_id_is_not_one(value: str) -> None:
    assert not is_image_id(value)


@pytest.mark.parametrize("name", ["8234-abc.jpg", "img_0123.heic", "x" * 128 + ".jpeg"])
def test_a_cursor_round_trips_and_is_url_safe(name: str) -> None:
    cursor = encode_cursor(name)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert decode_cursor(cursor) == name


@pytest.mark.parametrize(
    "cursor", ["%%%", "a", "////", encode_cursor("a/b.jpg"), encode_cursor("a\nb"), "\xff"]
)
def test_a_cursor_this_api_did_not_give_out_is_refused(cursor: str) -> None:
    assert decode_cursor(cursor) is None
