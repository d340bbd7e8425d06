"""What the router needs of one SQS record: its body, as it came, and the uploads it names.

The body is never changed: the worker reads the same S3 event from either lane (and a DLQ
message, redriven to the work queue, keeps its attributes through the router). A body the router
cannot read as an upload event is still routed (to the interactive lane), so the worker, the one
judge of what is malformed, quarantines it with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidKey, MalformedEvent
from shared.keys import is_upload, parse_upload_key
from worker.events import parse_body

# A message carries at most 10 attributes; the router adds its quarantine's to a message's own.
MAX_ATTRIBUTES = 10


@dataclass(frozen=True)
class Inbound:
    """One record of the router's batch."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # SendMessage's shape
    objects: tuple[tuple[str, str], ...] = ()  # (bucket, key) of each upload it names
    tenant: str | None = None
    sent_ms: int | None = None  # when it was sent to the work queue (epoch ms), for the hop's latency


def inbound(record: Mapping[str, Any]) -> Inbound:
    """Read one record of the Lambda SQS event; never raises for what its body holds."""
    body = str(record.get("body", ""))
    objects = _uploads(body)
    return Inbound(
        message_id=str(record["messageId"]),
        receipt_handle=str(record.get("receiptHandle", "")),
        body=body,
        receive_count=_int(record.get("attributes", {}).get("ApproximateReceiveCount"), 1),
        attributes=send_attributes(record.get("messageAttributes", {})),
        objects=objects,
        tenant=_tenant(objects),
        sent_ms=_int(record.get("attributes", {}).get("SentTimestamp"), 0) or None,
    )


def send_attributes(event_attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Lambda's `messageAttributes` (stringValue, dataType) in the shape SendMessage takes."""
    attributes: dict[str, dict[str, Any]] = {}
    for name, value in event_attributes.items():
        if not isinstance(value, Mapping) or not value.get("dataType"):
            continue
        entry: dict[str, Any] = {"DataType": value["dataType"]}
        if value.get("stringValue") is not None:
            entry["StringValue"] = value["stringValue"]
        elif value.get("binaryValue") is not None:
            entry["BinaryValue"] = value["binaryValue"]
        else:
            continue
        attributes[str(name)] = entry
    return attributes


def _uploads(body: str) -> tuple[tuple[str, str], ...]:
    try:
        refs = parse_body(body)
    except MalformedEvent:
        return ()
    return tuple((ref.bucket, ref.key) for ref in refs if is_upload(ref.key))


def _tenant(objects: tuple[tuple[str, str], ...]) -> str | None:
    for _, key in objects:
        try:
            return parse_upload_key(key).user_id
        except InvalidKey:
            continue
    return None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
