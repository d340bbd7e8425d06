"""An in-memory SQS (and a clock to go with it) for the DLQ reader and redrive unit tests.

It keeps what the reader depends on: a received message is invisible until its visibility timeout
ends, each receive issues a new receipt handle and only the latest one works, batch calls answer
entry by entry. The tests at the bottom hold the fake to that.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

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
    attributes: dict[str, dict[str, Any]]
    visible_at: float = 0.0
    receipt: str | None = None
    receives: int = 0


@dataclass
class FakeSqs:
    """Queues by URL; `calls` counts every operation by name."""

    clock: FakeClock
    queues: dict[str, list[_Message]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    fail_delete_ids: set[str] = field(default_factory=set)
    fail_send_bodies: set[str] = field(default_factory=set)
    log: list[tuple[str, str]] = field(default_factory=list)  # ("send" | "delete", body), in order
    _ids: Any = field(default_factory=itertools.count)

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def put(self, url: str, body: str, attributes: dict[str, dict[str, Any]] | None = None) -> str:
        message = _Message(f"m{next(self._ids):04d}", body, dict(attributes or {}))
        self.queues.setdefault(url, []).append(message)
        return message.message_id

    def visible(self, url: str) -> list[_Message]:
        return [m for m in self.queues.get(url, []) if m.visible_at <= self.clock.now]

    def receive_message(
        self, QueueUrl: str, MaxNumberOfMessages: int, VisibilityTimeout: int, **_: Any
    ) -> Any:
        self._count("ReceiveMessage")
        batch = self.visible(QueueUrl)[:MaxNumberOfMessages]
        for message in batch:
            message.receives += 1
            message.receipt = f"{message.message_id}#{message.receives}"
            message.visible_at = self.clock.now + VisibilityTimeout
        return {"Messages": [self._entry(m) for m in batch]}

    def _entry(self, message: _Message) -> dict[str, Any]:
        return {
            "MessageId": message.message_id,
            "ReceiptHandle": message.receipt,
            "Body": message.body,
            "Attributes": {
                "SentTimestamp": "1796117686926",
                "ApproximateReceiveCount": str(message.receives),
            },
            "MessageAttributes": message.attributes,
        }

    def _by_receipt(self, url: str, receipt: str) -> _Message | None:
        return next((m for m in self.queues.get(url, []) if m.receipt == receipt), None)

    def _batch(self, entries: list[dict[str, Any]], act: Any) -> dict[str, Any]:
        ok, failed = [], []
        for entry in entries:
            reason = act(entry)
            if reason is None:
                ok.append({"Id": entry["Id"]})
            else:
                failed.append({"Id": entry["Id"], "Code": reason, "Message": "fake", "SenderFault": True})
        return {"Successful": ok, "Failed": failed}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self._count("ChangeMessageVisibilityBatch")

        def change(entry: dict[str, Any]) -> str | None:
            message = self._by_receipt(QueueUrl, entry["ReceiptHandle"])
            if message is None:
                return "ReceiptHandleIsInvalid"
            message.visible_at = self.clock.now + entry["VisibilityTimeout"]
            return None

        return self._batch(Entries, change)

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self._count("DeleteMessageBatch")

        def delete(entry: dict[str, Any]) -> str | None:
            message = self._by_receipt(QueueUrl, entry["ReceiptHandle"])
            if message is None:
                return "ReceiptHandleIsInvalid"
            if message.message_id in self.fail_delete_ids:
                return "InternalError"
            self.queues[QueueUrl].remove(message)
            self.log.append(("delete", message.body))
            return None

        return self._batch(Entries, delete)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self._count("SendMessageBatch")

        def send(entry: dict[str, Any]) -> str | None:
            if entry["MessageBody"] in self.fail_send_bodies:
                return "InternalError"
            self.put(QueueUrl, entry["MessageBody"], entry.get("MessageAttributes"))
            self.log.append(("send", entry["MessageBody"]))
            return None

        return self._batch(Entries, send)

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> Any:
        self._count("GetQueueAttributes")
        messages = self.queues.get(QueueUrl, [])
        visible = len(self.visible(QueueUrl))
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(len(messages) - visible),
                "ApproximateNumberOfMessagesDelayed": "0",
            }
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
