"""Putting quarantined messages back to work: send first, delete from the DLQ only once sent.

Each selected message goes to the target queue with its body and message attributes unchanged
but `imgpipe-redrive-count` counted up; only the entries SendMessageBatch reports successful are
deleted, and only the entries DeleteMessageBatch reports successful count as moved. A process
killed in between can therefore only duplicate a message (which the worker absorbs), never lose
one. Messages already redriven `redrive_limit` times are held back unless forced: a file that
fails every time must not circle forever. Messages are streamed from a `DlqReader`, so `--max 1`
does not read the whole DLQ first, and everything not moved is made visible again at the end.
Both queues are looked up before any of that (`check_queues`): a mistyped URL would otherwise be
found only by the first send, after messages were read and held.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from deploy.ops.dlq.message import REDRIVE_COUNT, Quarantined
from deploy.ops.dlq.reader import DlqReader, ReadReport, batch_failures
from deploy.ops.dlq.redrive_rate import TokenBucket, batch_size
from deploy.ops.dlq.selection import Selection

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import (
        MessageAttributeValueOutputTypeDef,
        MessageAttributeValueTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

REDRIVE_LIMIT = 3
BATCH_BYTES = 250_000  # under SQS's 256 KiB for a whole SendMessageBatch
# SQS's query-protocol code and the JSON protocol's name for it; botocore reports either.
NO_SUCH_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


class NoSuchQueue(LookupError):
    """A queue a redrive names does not exist; `role` says which: "dlq" or "target"."""

    def __init__(self, role: str, url: str) -> None:
        super().__init__(f"no such queue: {url}")
        self.role, self.url = role, url


def check_queues(sqs: SQSClient, dlq_url: str, target_url: str) -> None:
    """Raise `NoSuchQueue` for the first of the two queues SQS does not know (other errors as they
    are); nothing is received, so a dry run checks its target as a real run must."""
    for role, url in (("dlq", dlq_url), ("target", target_url)):
        try:
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if {error.get("Code"), error.get("QueryErrorCode")} & NO_SUCH_QUEUE:
                raise NoSuchQueue(role, url) from exc
            raise


@dataclass(frozen=True)
class RedrivePlan:
    """What to move where, how fast, and how far."""

    target_url: str
    selection: Selection = Selection()
    max_moves: int | None = None
    rate: float | None = None
    dry_run: bool = False
    force: bool = False
    redrive_limit: int = REDRIVE_LIMIT


@dataclass
class RedriveResult:
    """What a redrive did (or, dry, would do)."""

    plan: RedrivePlan
    read: ReadReport
    moved: list[Quarantined] = field(default_factory=list)  # or would move, when dry
    skipped: int = 0
    held_back: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    aborted: str | None = None
    elapsed_s: float = 0.0

    def count(self, stage: str) -> int:
        """Failures at one stage: `send` (still in the DLQ) or `delete` (sent, also still in the DLQ)."""
        return sum(1 for failure in self.failures if failure["stage"] == stage)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures and self.aborted is None


def outgoing_attributes(message: Quarantined) -> dict[str, MessageAttributeValueTypeDef]:
    """The message's attributes as SendMessage takes them, with the redrive count counted up."""
    kept = {name: _sendable(value) for name, value in message.message_attributes.items()}
    kept[REDRIVE_COUNT] = {"DataType": "String", "StringValue": str(message.redrive_count + 1)}
    return kept


def _sendable(value: MessageAttributeValueOutputTypeDef) -> MessageAttributeValueTypeDef:
    """An attribute as received, less what SendMessage does not take back (the list values)."""
    kept: MessageAttributeValueTypeDef = {"DataType": value["DataType"]}
    if "StringValue" in value:
        kept["StringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        kept["BinaryValue"] = value["BinaryValue"]
    return kept


def _size(message: Quarantined) -> int:
    """Roughly what the message weighs in a SendMessageBatch request."""
    attributes = outgoing_attributes(message).values()
    values = [str(v.get("StringValue") or v.get("BinaryValue") or "") for v in attributes]
    return len(message.body.encode()) + sum(len(value) + 64 for value in values)


class _Run:
    def __init__(
        self, sqs: SQSClient, reader: DlqReader, plan: RedrivePlan, clock: Callable[[], float]
    ) -> None:
        self.sqs, self.reader, self.plan = sqs, reader, plan
        self.result = RedriveResult(plan, reader.report)
        self.size = batch_size(plan.rate)
        self.bucket = TokenBucket(plan.rate, self.size, clock, reader.pause) if plan.rate else None
        self.pending: list[Quarantined] = []
        self.now = datetime.now(UTC)

    def wanted(self, message: Quarantined) -> bool:
        if not self.plan.selection.matches(message, self.now):
            self.result.skipped += 1
            return False
        if message.redrive_count >= self.plan.redrive_limit and not self.plan.force:
            self.result.held_back += 1
            return False
        return True

    def room(self, extra: int = 0) -> bool:
        limit = self.plan.max_moves
        return limit is None or len(self.result.moved) + len(self.pending) + extra < limit

    def add(self, message: Quarantined) -> None:
        if self.pending and sum(map(_size, self.pending)) + _size(message) > BATCH_BYTES:
            self.flush()
        self.pending.append(message)
        if len(self.pending) >= self.size or not self.room():
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch or self.result.aborted:
            return
        if self.plan.dry_run:
            self.result.moved.extend(batch)
            return
        if self.bucket is not None:
            self.bucket.acquire(len(batch))
        try:
            sent = self._send(batch)
        except (ClientError, BotoCoreError) as exc:
            self.result.aborted = f"sending stopped: {exc}"
            return
        try:
            failed = self.reader.delete([m.message_id for m in sent])
        except (ClientError, BotoCoreError) as exc:
            failed = {m.message_id: str(exc) for m in sent}
            self.result.aborted = f"deleting stopped (sent messages are also still in the DLQ): {exc}"
        self._note(failed, "delete")
        self.result.moved.extend(m for m in sent if m.message_id not in failed)

    def _send(self, batch: list[Quarantined]) -> list[Quarantined]:
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": m.body, "MessageAttributes": outgoing_attributes(m)}
            for i, m in enumerate(batch)
        ]
        response = self.sqs.send_message_batch(QueueUrl=self.plan.target_url, Entries=entries)
        failed = batch_failures([m.message_id for m in batch], response)
        self._note(failed, "send")
        return [m for m in batch if m.message_id not in failed]

    def _note(self, failed: dict[str, str], stage: str) -> None:
        self.result.failures.extend({"messageId": m, "stage": stage, "reason": r} for m, r in failed.items())


def redrive(
    sqs: SQSClient,
    reader: DlqReader,
    plan: RedrivePlan,
    on_progress: Callable[[RedriveResult], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
) -> RedriveResult:
    """Move what `plan` selects from the reader's queue to `plan.target_url` (call inside `with reader`)."""
    run, started = _Run(sqs, reader, plan, clock), clock()
    for message in reader:
        if run.wanted(message):
            run.add(message)
        on_progress(run.result)
        if run.result.aborted or not run.room():
            break
    run.flush()
    on_progress(run.result)
    run.result.elapsed_s = clock() - started
    return run.result
