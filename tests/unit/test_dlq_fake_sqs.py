"""An in-memory SQS (and a clock to go with it) for the DLQ reader and redrive unit tests.

It keeps what the reader depends on: a received message is invisible until its visibility timeout
ends, each receive issues a new receipt handle and only the latest one works, batch calls answer
entry by entry. The tests at the bottom hold the fake to that.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from tests.client_types import SqsBase

if TYPE_CHECKING:
    from types_boto3_sqs.literals import QueueAttributeFilterType
    from types_boto3_sqs.type_defs import (
        BatchResultErrorEntryTypeDef,
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        ChangeMessageVisibilityBatchResultTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
        DeleteMessageBatchResultTypeDef,
        GetQueueAttributesResultTypeDef,
        MessageAttributeValueOutputTypeDef,
        MessageAttributeValueUnionTypeDef,
        MessageTypeDef,
        ReceiveMessageResultTypeDef,
        ResponseMetadataTypeDef,
        SendMessageBatchRequestEntryTypeDef,
        SendMessageBatchResultTypeDef,
    )

pytestmark = pytest.mark.unit


class FakeClock:
    """`clock()` and `sleep()` over a number only `sleep` (or `advance`) moves."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, MessageAttributeValueOutputTypeDef]
    visible_at: float = 0.0
    receipt: str | None = None
    receives: int = 0


def _stored(value: MessageAttributeValueUnionTypeDef) -> MessageAttributeValueOutputTypeDef:
    """An attribute as SQS keeps it and answers it (string and binary values; imgpipe sends no lists)."""
    kept: MessageAttributeValueOutputTypeDef = {"DataType": value["DataType"]}
    if "StringValue" in value:
        kept["StringValue"] = value["StringValue"]
    binary = value.get("BinaryValue")
    if isinstance(binary, bytes | bytearray):
        kept["BinaryValue"] = bytes(binary)
    return kept


def _metadata() -> ResponseMetadataTypeDef:
    return {"RequestId": "fake", "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}


def _answers(
    outcomes: Iterable[tuple[str, str | None]],
) -> tuple[list[str], list[BatchResultErrorEntryTypeDef]]:
    """The ids of the batch entries that succeeded, and a failure for each (id, error code) that did not."""
    ok: list[str] = []
    failed: list[BatchResultErrorEntryTypeDef] = []
    for entry_id, reason in outcomes:
        if reason is None:
            ok.append(entry_id)
        else:
            failed.append({"Id": entry_id, "Code": reason, "Message": "fake", "SenderFault": True})
    return ok, failed


@dataclass
class FakeSqs(SqsBase):
    """Queues by URL; `calls` counts every operation by name."""

    clock: FakeClock
    queues: dict[str, list[_Message]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    fail_delete_ids: set[str] = field(default_factory=set)
    fail_send_bodies: set[str] = field(default_factory=set)
    log: list[tuple[str, str]] = field(default_factory=list)  # ("send" | "delete", body), in order
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def put(
        self, url: str, body: str, attributes: Mapping[str, MessageAttributeValueUnionTypeDef] | None = None
    ) -> str:
        stored = {name: _stored(value) for name, value in (attributes or {}).items()}
        message = _Message(f"m{next(self._ids):04d}", body, stored)
        self.queues.setdefault(url, []).append(message)
        return message.message_id

    def visible(self, url: str) -> list[_Message]:
        return [m for m in self.queues.get(url, []) if m.visible_at <= self.clock.now]

    def receive_message(  # SQS's defaults: one message, the queue's 30 s visibility timeout
        self, *, QueueUrl: str, MaxNumberOfMessages: int = 1, VisibilityTimeout: int = 30, **_: object
    ) -> ReceiveMessageResultTypeDef:
        self._count("ReceiveMessage")
        messages: list[MessageTypeDef] = []
        for message in self.visible(QueueUrl)[:MaxNumberOfMessages]:
            message.receives += 1
            message.receipt = receipt = f"{message.message_id}#{message.receives}"
            message.visible_at = self.clock.now + VisibilityTimeout
            messages.append(self._entry(message, receipt))
        return {"Messages": messages, "ResponseMetadata": _metadata()}

    def _entry(self, message: _Message, receipt: str) -> MessageTypeDef:
        return {
            "MessageId": message.message_id,
            "ReceiptHandle": receipt,
            "Body": message.body,
            "Attributes": {
                "SentTimestamp": "1796117686926",
                "ApproximateReceiveCount": str(message.receives),
            },
            "MessageAttributes": message.attributes,
        }

    def _by_receipt(self, url: str, receipt: str) -> _Message | None:
        return next((m for m in self.queues.get(url, []) if m.receipt == receipt), None)

    def change_message_visibility_batch(
        self, *, QueueUrl: str, Entries: Sequence[ChangeMessageVisibilityBatchRequestEntryTypeDef]
    ) -> ChangeMessageVisibilityBatchResultTypeDef:
        self._count("ChangeMessageVisibilityBatch")

        def change(entry: ChangeMessageVisibilityBatchRequestEntryTypeDef) -> str | None:
            message = self._by_receipt(QueueUrl, entry["ReceiptHandle"])
            if message is None:
                return "ReceiptHandleIsInvalid"
            message.visible_at = self.clock.now + entry["VisibilityTimeout"]
            return None

        ok, failed = _answers((entry["Id"], change(entry)) for entry in Entries)
        return {"Successful": [{"Id": i} for i in ok], "Failed": failed, "ResponseMetadata": _metadata()}

    def delete_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[DeleteMessageBatchRequestEntryTypeDef]
    ) -> DeleteMessageBatchResultTypeDef:
        self._count("DeleteMessageBatch")

        def delete(entry: DeleteMessageBatchRequestEntryTypeDef) -> str | None:
            message = self._by_receipt(QueueUrl, entry["ReceiptHandle"])
            if message is None:
                return "ReceiptHandleIsInvalid"
            if message.message_id in self.fail_delete_ids:
                return "InternalError"
            self.queues[QueueUrl].remove(message)
            self.log.append(("delete", message.body))
            return None

        ok, failed = _answers((entry["Id"], delete(entry)) for entry in Entries)
        return {"Successful": [{"Id": i} for i in ok], "Failed": failed, "ResponseMetadata": _metadata()}

    def send_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[SendMessageBatchRequestEntryTypeDef]
    ) -> SendMessageBatchResultTypeDef:
        self._count("SendMessageBatch")
        sent: dict[str, tuple[str, str]] = {}  # entry id -> (message id, MD5 of the body), as SQS answers

        def send(entry: SendMessageBatchRequestEntryTypeDef) -> str | None:
            body = entry["MessageBody"]
            if body in self.fail_send_bodies:
                return "InternalError"
            message_id = self.put(QueueUrl, body, entry.get("MessageAttributes"))
            sent[entry["Id"]] = (message_id, hashlib.md5(body.encode()).hexdigest())
            self.log.append(("send", body))
            return None

        ok, failed = _answers((entry["Id"], send(entry)) for entry in Entries)
        return {
            "Successful": [{"Id": i, "MessageId": sent[i][0], "MD5OfMessageBody": sent[i][1]} for i in ok],
            "Failed": failed,
            "ResponseMetadata": _metadata(),
        }

    def get_queue_attributes(
        self, *, QueueUrl: str, AttributeNames: Sequence[QueueAttributeFilterType] = ()
    ) -> GetQueueAttributesResultTypeDef:
        self._count("GetQueueAttributes")
        messages = self.queues.get(QueueUrl, [])
        visible = len(self.visible(QueueUrl))
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(len(messages) - visible),
                "ApproximateNumberOfMessagesDelayed": "0",
            },
            "ResponseMetadata": _metadata(),
        }


def test_a_received_message_is_hidden_for_its_visibility_timeout() -> None:
    # Given a queue with one message
    sqs = FakeSqs(FakeClock())
    sqs.put("q", "body")
    # When it is received with a 30 s visibility timeout
    first = sqs.receive_message(QueueUrl="q", MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    # Then it is not received again until the timeout has passed, and then with a new receipt
    assert len(first) == 1
    assert sqs.receive_message(QueueUrl="q", MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"] == []
    sqs.clock.sleep(30)
    again = sqs.receive_message(QueueUrl="q", MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    assert [m["MessageId"] for m in again] == [first[0]["MessageId"]]
    assert again[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]


def test_only_the_latest_receipt_handle_works() -> None:
    # Given a message received twice
    sqs = FakeSqs(FakeClock())
    sqs.put("q", "body")
    old = sqs.receive_message(QueueUrl="q", MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"][0]
    new = sqs.receive_message(QueueUrl="q", MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"][0]
    # When it is deleted with the old receipt, then the new one
    stale = sqs.delete_message_batch(
        QueueUrl="q", Entries=[{"Id": "0", "ReceiptHandle": old["ReceiptHandle"]}]
    )
    fresh = sqs.delete_message_batch(
        QueueUrl="q", Entries=[{"Id": "0", "ReceiptHandle": new["ReceiptHandle"]}]
    )
    # Then only the latest receipt deleted it
    assert stale["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert fresh["Successful"] == [{"Id": "0"}]
    assert sqs.queues["q"] == []
