"""S3 event keys as AWS sends them, and as moto does: the worker reads both as the same key.

AWS encodes an event's object key like a form value (`/` kept, space as `+`); moto also
encodes `/` as `%2F`. Tests build events the way AWS does and compare decoded keys, so they hold
against any faithful emulator, not just the one they run on.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack, redelivered, s3_event_body, with_body
from worker.events import parse_body

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("key", "sent"),
    [
        ("uploads/u1/img_1.jpg", "uploads/u1/img_1.jpg"),
        ("uploads/u1/my photo.jpg", "uploads/u1/my+photo.jpg"),
        ("uploads/u1/a+b.jpg", "uploads/u1/a%2Bb.jpg"),
        ("uploads/u1/100%.jpg", "uploads/u1/100%25.jpg"),
        ("uploads/u1/café.jpg", "uploads/u1/caf%C3%A9.jpg"),
    ],
    ids=["plain", "space", "plus", "percent", "non-ascii"],
)
def test_test_events_carry_keys_as_aws_encodes_them(key: str, sent: str) -> None:
    # Given an event built by the tests' helper, then its key is form-encoded with `/` kept
    body = s3_event_body("in", key, "etag")
    assert json.loads(body)["Records"][0]["s3"]["object"]["key"] == sent
    # and the worker reads back the key that was uploaded
    assert [ref.key for ref in parse_body(body)] == [key]


def _as_aws_sends_it(message: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(message["Body"])
    obj = body["Records"][0]["s3"]["object"]
    obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
    return with_body(message, json.dumps(body))


def test_an_upload_announced_both_ways_is_one_upload(stack: Stack) -> None:
    # Given one upload, and its event as moto sent it and as AWS would send it
    key = "uploads/u1/both_ways.jpg"
    received = stack.upload_and_receive([(key, images.photo_jpeg(320, 240, seed=119))])
    etag, moto_message = received[key]
    aws_message = _as_aws_sends_it(moto_message)
    assert "uploads/u1/both_ways.jpg" in aws_message["Body"]
    # When AWS's form is processed, then the upload is rendered
    assert stack.process([aws_message]) == {"batchItemFailures": []}
    rendered = stack.assert_consistent("both_ways", "u1", etag)
    # And moto's form of the same event is a duplicate of it: no second render
    assert stack.process([redelivered(moto_message)]) == {"batchItemFailures": []}
    assert stack.assert_consistent("both_ways", "u1", etag) == rendered


def test_an_invalid_key_is_quarantined_under_its_decoded_name(stack: Stack) -> None:
    # Given an upload whose imageId holds a space, announced as AWS announces it
    key = "uploads/u1/my photo.jpg"
    received = stack.upload_and_receive([(key, images.photo_jpeg(200, 150, seed=120))])
    message = _as_aws_sends_it(received[key][1])
    assert "uploads/u1/my+photo.jpg" in message["Body"]
    # When it is processed, then the DLQ names the key as it was uploaded
    assert stack.process([message]) == {"batchItemFailures": []}
    (quarantined,) = stack.dlq_messages()
    attributes = {k: v["StringValue"] for k, v in quarantined["MessageAttributes"].items()}
    assert (attributes["imgpipe-error-type"], attributes["imgpipe-object-key"]) == ("InvalidKey", key)
