"""One DLQ message as an operator sees it: why it failed, whose file it was, when, how often redriven.

A message the worker quarantined carries `imgpipe-*` attributes (the contract in DESIGN.md); one
SQS moved there itself after `maxReceiveCount` receives has none and counts as `Exhausted`. Either
way the body is the original SQS body, so the object key can always be read back out of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from shared.errors import PermanentError

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

EXHAUSTED = "Exhausted"
EXHAUSTED_REASON = "moved to the DLQ by SQS after maxReceiveCount receives"
ERROR_TYPE = "imgpipe-error-type"
REDRIVE_COUNT = "imgpipe-redrive-count"
_USER = re.compile(r"^uploads/([^/]+)/")


def known_error_types() -> list[str]:
    """Every error type a DLQ message can have: the permanent errors, and `Exhausted`."""
    found: list[str] = []
    pending: list[type[PermanentError]] = [PermanentError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass.__name__)
            pending.append(subclass)
    return sorted({*found, EXHAUSTED})


@dataclass(frozen=True)
class Quarantined:
    """One DLQ message, its `imgpipe-*` attributes read (and the object key taken from the body)."""

    message_id: str
    body: str
    error_type: str
    reason: str
    object_key: str | None
    original_filename: str | None
    failed_at: str | None
    sent_at: str | None
    receive_count: int | None
    redrive_count: int
    source_queue: str | None
    message_attributes: dict[str, MessageAttributeValueOutputTypeDef] = field(
        default_factory=dict, compare=False
    )
    attributes: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def user(self) -> str | None:
        """The userId of `uploads/{userId}/...`, when the key has that shape."""
        match = _USER.match(self.object_key or "")
        return match[1] if match else None

    @property
    def when(self) -> str | None:
        """When it failed; for `Exhausted` messages (no failed-at) when it was first sent."""
        return self.failed_at or self.sent_at

    @classmethod
    def of(cls, message: MessageTypeDef) -> Quarantined:
        """Read an SQS ReceiveMessage entry."""
        raw = message.get("MessageAttributes") or {}
        text = {name: str(value.get("StringValue", "")) for name, value in raw.items()}
        system = {str(k): str(v) for k, v in (message.get("Attributes") or {}).items()}
        body = str(message.get("Body", ""))
        tagged = ERROR_TYPE in text
        return cls(
            message_id=str(message["MessageId"]),
            body=body,
            error_type=text[ERROR_TYPE] if tagged else EXHAUSTED,
            reason=text.get("imgpipe-error-message", "") if tagged else EXHAUSTED_REASON,
            object_key=text.get("imgpipe-object-key") or _first_key(body),
            original_filename=text.get("imgpipe-original-filename") or None,
            failed_at=text.get("imgpipe-failed-at") or None,
            sent_at=iso_from_ms(system.get("SentTimestamp")),
            receive_count=_int(text.get("imgpipe-receive-count")),
            redrive_count=_int(text.get(REDRIVE_COUNT)) or 0,
            source_queue=text.get("imgpipe-source-queue") or system.get("DeadLetterQueueSourceArn"),
            message_attributes=dict(raw),
            attributes=system,
        )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def iso_from_ms(millis: str | None) -> str | None:
    """An SQS epoch-milliseconds timestamp as ISO-8601 UTC with a Z; None when there is none."""
    if millis is None or not millis.isdigit():
        return None
    moment = datetime.fromtimestamp(int(millis) / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime | None:
    """An ISO-8601 time (`Z` or an offset) as an aware datetime; None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def decode_body(body: str) -> dict[str, Any]:
    """The body taken apart: the SNS envelope (if any), the S3 event and its records' decoded keys."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        return {"sns": None, "event": None, "records": [], "error": f"body is not JSON: {exc.msg}"}
    envelope = None
    if isinstance(document, dict) and document.get("Type") == "Notification" and "Message" in document:
        envelope = {k: v for k, v in document.items() if k != "Message"}
        try:
            document = json.loads(document["Message"])
        except (TypeError, json.JSONDecodeError):
            return {"sns": envelope, "event": None, "records": [], "error": "SNS Message is not JSON"}
    records = document.get("Records") if isinstance(document, dict) else None
    return {
        "sns": envelope,
        "event": document,
        "records": [_record(r) for r in records if isinstance(r, dict)] if isinstance(records, list) else [],
        "error": None,
    }


def _record(record: dict[str, Any]) -> dict[str, Any]:
    s3 = _dict(record.get("s3"))
    obj, bucket = _dict(s3.get("object")), _dict(s3.get("bucket"))
    key = obj.get("key")
    return {
        "eventName": record.get("eventName"),
        "eventTime": record.get("eventTime"),
        "bucket": bucket.get("name"),
        "key": unquote_plus(key) if isinstance(key, str) else None,
        "size": obj.get("size"),
        "eTag": obj.get("eTag"),
        "versionId": obj.get("versionId"),
    }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first_key(body: str) -> str | None:
    records = decode_body(body)["records"]
    return next((r["key"] for r in records if r["key"]), None)
