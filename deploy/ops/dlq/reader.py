"""Reading every message of a queue once: receive with a visibility hold, then let go.

Receiving with visibility 0 returns the same few messages again and again, so it cannot
enumerate a queue. Here each message received is held (invisible to other readers) for `hold_s`,
renewed while this reader still needs it, so every receive brings messages not seen yet; long
polling makes an empty answer mean an empty queue (short polling on real SQS can answer nothing
from a non-empty one). What the caller did not delete is made visible again at the end, with the
receipt handle of its latest receive. A reader that dies leaves messages invisible for one hold.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TypeAlias

from deploy.ops.dlq.message import Quarantined
from deploy.ops.dlq.report import QueueDepth, ReadReport, queue_depth

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        ChangeMessageVisibilityBatchResultTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
        DeleteMessageBatchResultTypeDef,
        MessageTypeDef,
        SendMessageBatchResultTypeDef,
    )

    BatchResult: TypeAlias = (
        ChangeMessageVisibilityBatchResultTypeDef
        | DeleteMessageBatchResultTypeDef
        | SendMessageBatchResultTypeDef
    )

HOLD_S = 60
WAIT_S = 1  # any long poll asks every SQS server, so an empty answer means empty
MAX_MESSAGES = 100_000  # below SQS's 120,000 in-flight limit for a standard queue
STALE_RECEIVES = 3  # receives in a row bringing only messages already seen: nothing new is left
BATCH = 10  # SQS's most entries per receive and per batch call

__all__ = [
    "BATCH",
    "HOLD_S",
    "MAX_MESSAGES",
    "DlqReader",
    "QueueDepth",
    "ReadReport",
    "batch_failures",
    "queue_depth",
]


@dataclass
class _Held:
    receipt: str
    expires: float


class DlqReader:
    """Stream a queue's messages, each once; use as a context manager so the rest is let go."""

    def __init__(
        self,
        sqs: SQSClient,
        url: str,
        *,
        hold_s: int = HOLD_S,
        max_messages: int = MAX_MESSAGES,
        max_seconds: float | None = None,
        wait_s: int = WAIT_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sqs, self.url, self.hold_s, self.wait_s = sqs, url, hold_s, wait_s
        self.max_messages, self.max_seconds = max_messages, max_seconds
        self._clock, self._sleep = clock, sleep
        self._held: OrderedDict[str, _Held] = OrderedDict()  # in order of expiry
        self._seen: set[str] = set()
        self.report = ReadReport(QueueDepth(0, 0, 0))

    def __enter__(self) -> DlqReader:
        self.report.at_start = queue_depth(self.sqs, self.url)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.release_all()
        except Exception:
            if kind is None:
                raise  # otherwise the first failure is the one to report; the hold lapses anyway

    def __iter__(self) -> Iterator[Quarantined]:
        started, stale, finished = self._clock(), 0, False
        try:
            while stale < STALE_RECEIVES:
                if len(self._seen) >= self.max_messages:
                    self.report.stopped_by = "count"
                    break
                if self.max_seconds is not None and self._clock() - started >= self.max_seconds:
                    self.report.stopped_by = "time"
                    break
                self.renew_due()
                batch = self._receive(min(BATCH, self.max_messages - len(self._seen)))
                if not batch:
                    break
                fresh = [m for m in map(self._hold, batch) if m is not None]
                stale = 0 if fresh else stale + 1
                for message in fresh:
                    self.report.seen += 1
                    yield message
                    self.renew_due()
            finished = True
        finally:
            if not finished:
                self.report.stopped_by = "caller"

    def _receive(self, count: int) -> list[MessageTypeDef]:
        response = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=count,
            VisibilityTimeout=self.hold_s,
            WaitTimeSeconds=self.wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _hold(self, message: MessageTypeDef) -> Quarantined | None:
        """Remember the latest receipt handle; the message itself only if it is new to this read."""
        message_id = str(message["MessageId"])
        self._held[message_id] = _Held(str(message["ReceiptHandle"]), self._clock() + self.hold_s)
        self._held.move_to_end(message_id)
        if message_id in self._seen:
            return None  # its hold lapsed and it came back: held again, not handed out twice
        self._seen.add(message_id)
        return Quarantined.of(message)

    def renew_due(self) -> None:
        """Extend the hold of messages whose hold is half gone."""
        now = self._clock()
        due = []
        for message_id, held in self._held.items():
            if held.expires - now > self.hold_s / 2:
                break
            due.append(message_id)
        if due:
            self._change_visibility(due, self.hold_s)
            for message_id in due:  # failed ones too: if they come back, `_hold` takes them again
                if message_id in self._held:
                    self._held[message_id].expires = now + self.hold_s
                    self._held.move_to_end(message_id)

    def pause(self, seconds: float) -> None:
        """Sleep (for a rate limit) without letting holds lapse."""
        end = self._clock() + seconds
        while (left := end - self._clock()) > 0:
            self._sleep(min(left, self.hold_s / 4))
            self.renew_due()

    def delete(self, message_ids: list[str]) -> dict[str, str]:
        """Delete these held messages; returns {messageId: reason} for those SQS did not delete."""
        failed = {m: "not held by this read" for m in message_ids if m not in self._held}
        for chunk in _chunks([m for m in message_ids if m in self._held]):
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": self._held[m].receipt} for i, m in enumerate(chunk)
            ]
            response = self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            failed.update(batch_failures(chunk, response))
            for message_id in chunk:
                if message_id not in failed:
                    self._held.pop(message_id, None)
        return failed

    def release(self, message_ids: list[str]) -> None:
        """Make these held messages visible again now."""
        held = [m for m in message_ids if m in self._held]
        self.report.release_failures += len(self._change_visibility(held, 0))
        for message_id in held:
            self._held.pop(message_id, None)

    def release_all(self) -> None:
        """Make every message still held visible again now."""
        self.release(list(self._held))

    def _change_visibility(self, message_ids: list[str], seconds: int) -> dict[str, str]:
        failed: dict[str, str] = {}
        for chunk in _chunks(message_ids):
            entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": self._held[m].receipt, "VisibilityTimeout": seconds}
                for i, m in enumerate(chunk)
            ]
            response = self.sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            failed.update(batch_failures(chunk, response))
        return failed


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def batch_failures(chunk: list[str], response: BatchResult) -> dict[str, str]:
    """{messageId: "Code: Message"} for each entry (Id = index in `chunk`) not reported successful."""
    ok = {entry["Id"] for entry in response.get("Successful", [])}
    reasons = {e["Id"]: f"{e.get('Code', '?')}: {e.get('Message', '')}" for e in response.get("Failed", [])}
    return {
        message_id: reasons.get(str(i), "no result for this entry")
        for i, message_id in enumerate(chunk)
        if str(i) not in ok
    }
