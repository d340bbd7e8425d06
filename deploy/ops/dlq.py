"""The operator's view of the dead-letter queue: what is in it, and putting it back to work.

Redrive re-sends each message's body unchanged (the quarantine contract keeps it so) to the queue
it came from, then deletes it from the DLQ; a crash in between can only duplicate a message,
which the worker's manifest check absorbs, never lose one. It works where SQS's own
`StartMessageMoveTask` does not: filtered by error type, and against the local stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

ERROR_TYPE = "imgpipe-error-type"
UNTAGGED = "unknown (exhausted maxReceiveCount)"
PEEK_LIMIT = 1000
HOLD_S = 60  # how long a message being redriven stays invisible to other readers


@dataclass(frozen=True)
class Quarantined:
    """One DLQ message, with the reason imgpipe attached (if it was imgpipe that put it there)."""

    message_id: str
    receipt: str
    body: str
    error_type: str
    reason: str
    object_key: str
    failed_at: str
    source_queue: str

    @classmethod
    def of(cls, message: dict[str, Any]) -> Quarantined:
        """Read the imgpipe-* attributes of an SQS message."""
        attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
        return cls(
            message_id=message["MessageId"],
            receipt=message["ReceiptHandle"],
            body=message["Body"],
            error_type=attributes.get(ERROR_TYPE, UNTAGGED),
            reason=attributes.get("imgpipe-error-message", ""),
            object_key=attributes.get("imgpipe-object-key", ""),
            failed_at=attributes.get("imgpipe-failed-at", ""),
            source_queue=attributes.get("imgpipe-source-queue", ""),
        )


def _receive(sqs: Any, dlq_url: str, visibility_s: int) -> list[Quarantined]:
    response = sqs.receive_message(
        QueueUrl=dlq_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility_s,
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    )
    return [Quarantined.of(m) for m in response.get("Messages", [])]


def peek(sqs: Any, dlq_url: str, limit: int = PEEK_LIMIT) -> list[Quarantined]:
    """Up to `limit` messages, read without hiding them from anyone else."""
    seen: dict[str, Quarantined] = {}
    while len(seen) < limit:
        fresh = [q for q in _receive(sqs, dlq_url, 0) if q.message_id not in seen]
        if not fresh:
            break
        seen.update((q.message_id, q) for q in fresh)
    return list(seen.values())[:limit]


def redrive(
    sqs: Any,
    dlq_url: str,
    target_url: str,
    error_type: str | None = None,
    limit: int | None = None,
    on_moved: Callable[[Quarantined], None] = lambda _: None,
) -> int:
    """Move matching messages back to `target_url`; returns how many moved."""
    moved = 0
    skipped: list[Quarantined] = []
    for message in _drain(sqs, dlq_url):
        if limit is not None and moved >= limit:
            skipped.append(message)
            continue
        if error_type is not None and message.error_type != error_type:
            skipped.append(message)
            continue
        sqs.send_message(QueueUrl=target_url, MessageBody=message.body)
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message.receipt)
        moved += 1
        on_moved(message)
    for message in skipped:  # let the ones left alone be seen again at once
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message.receipt, VisibilityTimeout=0)
    return moved


def _drain(sqs: Any, dlq_url: str) -> Iterator[Quarantined]:
    # Messages stay hidden (HOLD_S) while we work, so every one is visited once per run.
    while batch := _receive(sqs, dlq_url, HOLD_S):
        yield from batch
