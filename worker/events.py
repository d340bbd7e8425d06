"""SQS body -> (optional SNS envelope) -> S3 event -> the objects to process.

S3 and SNS deliver at least once and in any order, and a body may hold several S3 records, so
this returns a list and leaves duplicates to the manifest check. Keys arrive URL-encoded with `+`
for space and are decoded here, once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from shared.errors import MalformedEvent


@dataclass(frozen=True)
class ObjectRef:
    """One created object named by an S3 event."""

    bucket: str
    key: str
    etag: str | None
    version_id: str | None
    size: int | None
    event_name: str


def parse_body(body: str) -> list[ObjectRef]:
    """Objects created according to this SQS body; [] for test events and non-create events."""
    document = _json(body, "SQS body")
    if document.get("Type") == "Notification" and "Message" in document:
        document = _json(document["Message"], "SNS Message")
    if document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records")
    if not isinstance(records, list):
        raise MalformedEvent(f"no S3 'Records' list in message (keys: {sorted(document)[:8]})")
    return [ref for ref in map(_object_ref, records) if ref is not None]


def _json(text: Any, what: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise MalformedEvent(f"{what} is not a string")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedEvent(f"{what} is not JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(document, dict):
        raise MalformedEvent(f"{what} is JSON but not an object")
    return document


def _object_ref(record: Any) -> ObjectRef | None:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise MalformedEvent("record is not an aws:s3 event")
    event_name = str(record.get("eventName", ""))
    if not event_name.startswith("ObjectCreated:"):
        return None
    try:
        bucket = record["s3"]["bucket"]["name"]
        obj = record["s3"]["object"]
        key = unquote_plus(obj["key"])
    except (KeyError, TypeError) as exc:
        raise MalformedEvent(f"S3 record lacks {exc}") from exc
    size = obj.get("size")
    return ObjectRef(
        bucket=str(bucket),
        key=key,
        etag=obj.get("eTag"),
        version_id=obj.get("versionId"),
        size=int(size) if isinstance(size, int) else None,
        event_name=event_name,
    )
