"""What the router reads of a record, and the reason it writes when it quarantines one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from worker.router.quarantine import dlq_attributes
from worker.router.records import MAX_ATTRIBUTES, Inbound, inbound, send_attributes

pytestmark = pytest.mark.unit


def s3_body(*keys: str) -> str:
    """An S3 ObjectCreated notification as AWS sends it (keys form-encoded: space as +)."""
    records = [
        {
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Post",
            "s3": {"bucket": {"name": "in"}, "object": {"key": key, "size": 10, "eTag": "e"}},
        }
        for key in keys
    ]
    return json.dumps({"Records": records})


def record(body: str, receive_count: str = "1", attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "messageId": "m-1",
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": receive_count},
        "messageAttributes": attributes or {},
    }


def test_an_upload_event_names_its_object_and_tenant() -> None:
    found = inbound(record(s3_body("uploads/alice/img1.jpg", "uploads/alice/my+photo.jpg")))
    assert found.objects == (("in", "uploads/alice/img1.jpg"), ("in", "uploads/alice/my photo.jpg"))
    assert found.tenant == "alice"
    assert found.body == s3_body("uploads/alice/img1.jpg", "uploads/alice/my+photo.jpg")  # as it came


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", json.dumps({"Event": "s3:TestEvent"}), s3_body("processed/alice/x.jpg"), ""],
    ids=["not-json", "not-an-object", "test-event", "outside-uploads", "empty"],
)
def test_what_is_not_an_upload_has_no_tenant_and_is_still_read(body: str) -> None:
    found = inbound(record(body))
    assert (found.objects, found.tenant, found.body) == ((), None, body)


def test_a_key_that_is_not_an_upload_key_has_no_tenant() -> None:
    found = inbound(record(s3_body("uploads/../x.jpg")))
    assert found.tenant is None


def test_the_receive_count_is_read_and_defaults_to_one() -> None:
    assert inbound(record("x", receive_count="4")).receive_count == 4
    assert inbound(record("x", receive_count="junk")).receive_count == 1


def test_message_attributes_come_back_in_the_shape_sendmessage_takes() -> None:
    event = {
        "imgpipe-redrive-count": {"stringValue": "2", "dataType": "String"},
        "blob": {"binaryValue": "AAE=", "dataType": "Binary"},
        "no-type": {"stringValue": "x"},
        "no-value": {"dataType": "String"},
        "junk": "x",
    }
    assert send_attributes(event) == {
        "imgpipe-redrive-count": {"DataType": "String", "StringValue": "2"},
        "blob": {"DataType": "Binary", "BinaryValue": "AAE="},
    }


def test_the_quarantine_reason_is_written_over_the_records_own_attributes() -> None:
    # Given a redriven record with nine attributes of its own
    own = {f"app-{n}": {"DataType": "String", "StringValue": str(n)} for n in range(7)}
    own["imgpipe-redrive-count"] = {"DataType": "String", "StringValue": "2"}
    own["imgpipe-error-type"] = {"DataType": "String", "StringValue": "CorruptImage"}
    found = Inbound("m", "rh", "body", 5, own, (("in", "uploads/alice/a\x07.jpg"),), "alice")
    # When the router quarantines it
    attributes = dlq_attributes(found, "AccessDenied: no", "arn:aws:sqs:us-east-1:1:work")
    text = {name: value["StringValue"] for name, value in attributes.items()}
    # Then its reason is there, the redrive count kept, and SQS's limit of 10 held
    assert len(attributes) <= MAX_ATTRIBUTES
    assert text["imgpipe-error-type"] == "RouteFailed"
    assert text["imgpipe-error-message"] == "AccessDenied: no"
    assert text["imgpipe-source-queue"] == "arn:aws:sqs:us-east-1:1:work"
    assert text["imgpipe-receive-count"] == "5"
    assert text["imgpipe-redrive-count"] == "2"
    assert text["imgpipe-object-key"] == "uploads/alice/a\ufffd.jpg"  # SQS refuses control characters
