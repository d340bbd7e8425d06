"""`dlq show`'s lookup over the in-memory SQS: by message id or its start, by imageId, by object key;
and the short ids `dlq list` shows, each unique and each taken back by the lookup."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

import pytest

from deploy.ops.dlq import read
from deploy.ops.dlq.lookup import SHORT_ID, Wanted, lookup, short_ids
from deploy.ops.dlq.view import LIST_COLUMNS, list_rows
from tests.unit.test_dlq_fake_sqs import FakeClock, FakeSqs

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef

pytestmark = pytest.mark.unit

DLQ = "dlq"


def s3_body(key: str) -> str:
    """An S3 ObjectCreated body as AWS sends it: the key form-encoded (`/` kept, space as `+`)."""
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "in"}, "object": {"key": quote_plus(key, safe="/"), "eTag": "e"}},
    }
    return json.dumps({"Records": [record]})


def tagged(key: str, failed_at: str) -> dict[str, MessageAttributeValueOutputTypeDef]:
    values = {"imgpipe-error-type": "CorruptImage", "imgpipe-failed-at": failed_at, "imgpipe-object-key": key}
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


def queue() -> tuple[FakeSqs, dict[str, str]]:
    """Three messages: alice's img_a twice (uploaded, then uploaded again), bob's `my photo` once
    (SQS moved it: no attributes, its key only in the body)."""
    sqs, key = FakeSqs(FakeClock()), "uploads/alice/img_a.jpg"
    ids = {
        "second": sqs.put(DLQ, s3_body(key), tagged(key, "2026-11-02")),
        "first": sqs.put(DLQ, s3_body(key), tagged(key, "2026-11-01")),
        "bob": sqs.put(DLQ, s3_body("uploads/bob/my photo.png")),
    }
    return sqs, ids


def found(sqs: FakeSqs, text: str) -> list[str]:
    messages, _ = lookup(sqs, DLQ, Wanted(text))
    assert len(sqs.visible(DLQ)) == 3  # a lookup moves nothing: every message is visible again
    return [m.message_id for m in messages]


def test_a_whole_message_id_finds_that_message_alone() -> None:
    sqs, ids = queue()
    assert found(sqs, ids["bob"]) == [ids["bob"]]


def test_an_image_id_or_key_finds_every_message_of_that_upload_oldest_first() -> None:
    # Given an upload quarantined twice
    sqs, ids = queue()
    # When it is looked up by imageId, by key and by the S3 URI `dlq show` prints
    # Then both messages are found, the older failure first
    for text in ("img_a", "uploads/alice/img_a.jpg", "s3://in/uploads/alice/img_a.jpg"):
        assert found(sqs, text) == [ids["first"], ids["second"]], text


def test_a_key_read_from_the_body_is_found_decoded() -> None:
    # Given a message SQS moved itself: its key is only in the body, form-encoded
    sqs, ids = queue()
    # Then the key as the uploader wrote it finds it
    assert found(sqs, "uploads/bob/my photo.png") == [ids["bob"]]


@pytest.mark.parametrize("text", ["img_", "uploads/alice", "nothing", "m0", ""], ids=repr)
def test_partial_keys_short_prefixes_and_other_text_find_nothing(text: str) -> None:
    sqs, _ = queue()
    assert found(sqs, text) == []


def test_describe_names_what_was_looked_for() -> None:
    assert Wanted("img_zz").describe() == "the message id (or id prefix), imageId or object key 'img_zz'"


UUIDS = [
    "df84795b-e4af-4451-9607-2e001c943a32",
    "df84795b-e4af-4451-9607-2e001c943a99",  # shares 34 characters with the one above
    "df847950-0000-4000-8000-000000000000",  # shares 7 with both: 8 still tell it apart
    "0a1b2c3d-0000-4000-8000-000000000000",
]


def test_short_ids_are_the_shortest_unique_starts_and_never_under_eight() -> None:
    ids = short_ids(UUIDS)
    assert ids == {
        UUIDS[0]: UUIDS[0][:35], UUIDS[1]: UUIDS[1][:35], UUIDS[2]: UUIDS[2][:SHORT_ID], UUIDS[3]: "0a1b2c3d",
    }  # fmt: skip
    assert all(sum(u.startswith(short) for u in UUIDS) == 1 for short in ids.values())


def test_every_short_id_of_a_listing_finds_its_message_alone() -> None:
    # Given messages whose ids share long starts (SQS's UUIDs in place of the fake's own ids)
    sqs = FakeSqs(FakeClock())
    for message_id in UUIDS:
        sqs.put(DLQ, s3_body(f"uploads/u/{message_id[:4]}.jpg"))
        sqs.queues[DLQ][-1].message_id = message_id
    everything, _ = read(sqs, DLQ)
    # When the listing shows them (the id is the first column)
    assert LIST_COLUMNS[0] == "id"
    shown = [row[0] for row in list_rows(everything)]
    # Then each shown id finds exactly its own message
    for row_id, message in zip(shown, everything, strict=True):
        hits, _ = lookup(sqs, DLQ, Wanted(row_id))
        assert [m.message_id for m in hits] == [message.message_id], row_id
