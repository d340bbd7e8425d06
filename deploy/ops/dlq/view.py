"""How DLQ messages are shown: the documented `--json` shapes, and rows of text for tables.

The shapes are a contract for scripts: keys are only ever added, never renamed or removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from deploy.ops.dlq.lookup import SHORT_ID, short_ids
from deploy.ops.dlq.message import Quarantined, decode_body
from deploy.ops.dlq.redrive import RedriveResult

NO_USER = "(no user)"
NO_QUEUE = "(unknown)"
TASK_COLUMNS = ("task handle", "status", "moved", "to move", "started", "failure")
_TASK_KEYS = (
    "taskHandle", "status", "approximateNumberOfMessagesMoved", "approximateNumberOfMessagesToMove",
    "startedAt", "failureReason",
)  # fmt: skip
LIST_COLUMNS = (
    "id", "object key", "original filename", "error type", "reason", "failed at", "receives", "redrives",
)  # fmt: skip


def item_json(message: Quarantined) -> dict[str, Any]:
    """`{"messageId", "objectKey", "user", "originalFilename", "errorType", "reason", "failedAt",
    "sentAt", "receiveCount", "redriveCount"}` (null where a message does not say)."""
    return {
        "messageId": message.message_id,
        "objectKey": message.object_key,
        "user": message.user,
        "originalFilename": message.original_filename,
        "errorType": message.error_type,
        "reason": message.reason,
        "failedAt": message.failed_at,
        "sentAt": message.sent_at,
        "receiveCount": message.receive_count,
        "redriveCount": message.redrive_count,
    }


def show_json(message: Quarantined) -> dict[str, Any]:
    """`item_json` plus `"sourceQueue"`, `"messageAttributes"` ({name: value}), `"attributes"`
    (SQS's), `"body"` (as stored) and `"decoded"`: `{"sns": envelope|null, "event": the S3 event,
    "records": [{"eventName", "eventTime", "bucket", "key" (decoded), "size", "eTag", "versionId"}],
    "error": why the body could not be decoded|null}`."""
    values = {
        name: value.get("StringValue", value.get("BinaryValue"))
        for name, value in message.message_attributes.items()
    }
    return {
        **item_json(message),
        "sourceQueue": message.source_queue,
        "messageAttributes": values,
        "attributes": message.attributes,
        "body": message.body,
        "decoded": decode_body(message.body),
    }


def lookup_json(found: list[Quarantined]) -> dict[str, Any]:
    """`dlq show`'s document: `show_json` of the first (oldest) match, plus `"matches"`: every message
    matched, as `dlq list` items (one, for a message id)."""
    return {**show_json(found[0]), "matches": [item_json(m) for m in found]}


def stats_json(messages: Iterable[Quarantined]) -> dict[str, Any]:
    """`{"total", "byErrorType": {type: n}, "byUser": {user: n}, "byQueue": {queue: n}, "oldest",
    "newest"}`, most first; users without a key of the form uploads/{user}/... count under "(no
    user)"; a queue is the name of the one the message failed on (a lane, or the work queue for the
    router's DLQ), "(unknown)" when it does not say; oldest and newest are failed-at times
    (first-sent times for Exhausted messages), null for an empty DLQ."""
    messages = list(messages)
    times = sorted(m.when for m in messages if m.when)
    return {
        "total": len(messages),
        "byErrorType": dict(Counter(m.error_type for m in messages).most_common()),
        "byUser": dict(Counter(m.user or NO_USER for m in messages).most_common()),
        "byQueue": dict(Counter(queue_name(m.source_queue) for m in messages).most_common()),
        "oldest": times[0] if times else None,
        "newest": times[-1] if times else None,
    }


def queue_name(arn: str | None) -> str:
    """A queue's name from its ARN (`arn:aws:sqs:region:account:name`), "(unknown)" without one."""
    return arn.rsplit(":", 1)[-1] if arn and arn != "unknown" else NO_QUEUE


def list_rows(messages: list[Quarantined], among: Iterable[Quarantined] = ()) -> list[list[str]]:
    """Table rows, each with the short id `dlq show` takes: unique among `messages` and `among`."""
    ids = short_ids([m.message_id for m in (*messages, *among)])
    return [list_row(m, ids[m.message_id]) for m in messages]


def list_row(message: Quarantined, short_id: str | None = None) -> list[str]:
    """One table row, in `LIST_COLUMNS` order (the id cut to `SHORT_ID` unless `short_id` is given)."""
    failed_at = message.failed_at or (f"(sent {message.sent_at})" if message.sent_at else "-")
    return [
        short_id or message.message_id[:SHORT_ID],
        message.object_key or f"(message {message.message_id})",
        message.original_filename or "-",
        message.error_type,
        message.reason or "-",
        failed_at,
        "-" if message.receive_count is None else str(message.receive_count),
        str(message.redrive_count),
    ]


def show_rows(message: Quarantined) -> list[tuple[str, str]]:
    """`(field, value)` pairs for `dlq show`."""
    decoded = decode_body(message.body)
    rows = [
        ("message id", message.message_id),
        ("object key", message.object_key or "-"),
        ("user", message.user or "-"),
        ("original filename", message.original_filename or "-"),
        ("error type", message.error_type),
        ("reason", message.reason or "-"),
        ("failed at", message.failed_at or "-"),
        ("first sent", message.sent_at or "-"),
        ("receive count", "-" if message.receive_count is None else str(message.receive_count)),
        ("redrive count", str(message.redrive_count)),
        ("source queue", message.source_queue or "-"),
        # S3 -> SNS -> SQS with raw delivery puts the S3 event itself in the body; an SNS envelope
        # means a subscription without it (or a message sent by hand)
        ("body", "an SNS envelope around the S3 event" if decoded["sns"] else "the S3 event (raw delivery)"),
    ]
    for record in decoded["records"]:
        rows.append(("S3 event", f"{record['eventName']} s3://{record['bucket']}/{record['key']}"))
    if decoded["error"]:
        rows.append(("body", f"{decoded['error']}: {message.body[:200]}"))
    for name, value in show_json(message)["messageAttributes"].items():
        rows.append((f"attribute {name}", str(value)))
    return rows


def redrive_json(result: RedriveResult) -> dict[str, Any]:
    """`{"dryRun", "to", "selection": {"errorTypes", "users", "olderThanSeconds"}, "max", "ratePerSecond",
    "redriveLimit", "moved", "wouldMove", "skipped", "heldBack", "failed", "notDeleted", "aborted",
    "elapsedSeconds", "messages": [item...], "failures": [{"messageId", "stage", "reason"}], "read"}`."""
    plan, count = result.plan, len(result.moved)
    return {
        "dryRun": plan.dry_run,
        "to": plan.target_url,
        "selection": plan.selection.as_json(),
        "max": plan.max_moves,
        "ratePerSecond": plan.rate,
        "redriveLimit": plan.redrive_limit,
        "moved": 0 if plan.dry_run else count,
        "wouldMove": count if plan.dry_run else 0,
        "skipped": result.skipped,
        "heldBack": result.held_back,
        "failed": result.count("send"),
        "notDeleted": result.count("delete"),
        "aborted": result.aborted,
        "elapsedSeconds": round(result.elapsed_s, 3),
        "messages": [item_json(m) for m in result.moved],
        "failures": result.failures,
        "read": result.read.as_json(),
    }


def redrive_summary(result: RedriveResult) -> list[str]:
    """What a redrive did, in a few lines for people."""
    plan, count = result.plan, len(result.moved)
    if plan.dry_run:
        lines = [f"dry run: would move {count} message(s) to {plan.target_url}; nothing was moved"]
    else:
        # The time covers reading the whole DLQ too, so it is no send rate: --rate caps that.
        cap = f", sends capped at {plan.rate:g}/s" if plan.rate else ""
        took = f"{result.elapsed_s:.1f}s (reading included{cap})"
        lines = [f"moved {count} message(s) to {plan.target_url} in {took}"]
    lines.append(
        f"skipped {result.skipped} (not selected), held back {result.held_back},"
        f" failed {result.count('send')}, sent but not deleted {result.count('delete')}"
    )
    if result.held_back:
        lines.append(
            f"held back {result.held_back} message(s) already redriven {plan.redrive_limit} times or more"
            " (they fail every time?); pass --force to move them anyway"
        )
    return lines


def task_row(task: dict[str, Any]) -> list[str]:
    """One `dlq tasks` row, in `TASK_COLUMNS` order."""
    return ["-" if task.get(key) is None else str(task[key]) for key in _TASK_KEYS]
