"""A record the router could not send on its last attempt goes to the router's DLQ with its reason.

The body stays as it came, so `imgpipe dlq redrive --dlq-url $IMGPIPE_ROUTER_DLQ_URL` puts it back
on the work queue as it was; the reason travels in the `imgpipe-*` attributes the DESIGN.md
contract names, as the worker's quarantine does, so the DLQ tools read both DLQs alike. If even
this send fails, the record is left to SQS, which moves it there after maxReceiveCount (shown as
`Exhausted`): either way nothing stays on the work queue for ever.
"""

from __future__ import annotations

import re
from typing import Any

from shared.manifest import now_iso
from worker.router.records import MAX_ATTRIBUTES, Inbound

ERROR_TYPE = "RouteFailed"
MAX_REASON = 1000
# Characters SQS refuses in a String attribute (control characters from a hostile key, say).
_NOT_SQS_TEXT = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def dlq_attributes(record: Inbound, reason: str, source_arn: str) -> dict[str, dict[str, Any]]:
    """The record's own attributes with the router's reason over them (at most 10 in all)."""
    reasons = {
        "imgpipe-error-type": ERROR_TYPE,
        "imgpipe-error-message": reason[:MAX_REASON] or ERROR_TYPE,
        "imgpipe-failed-at": now_iso(),
        "imgpipe-source-queue": source_arn or "unknown",
        "imgpipe-receive-count": str(record.receive_count),
    }
    if record.objects:
        reasons["imgpipe-object-key"] = record.objects[0][1]
    ours = {name: {"DataType": "String", "StringValue": _text(value)} for name, value in reasons.items()}
    # A redriven message keeps its own (its redrive count above all); others make room for ours.
    kept = {name: value for name, value in record.attributes.items() if name not in ours}
    room = MAX_ATTRIBUTES - len(ours)
    kept = dict(sorted(kept.items(), key=lambda item: not item[0].startswith("imgpipe-"))[:room])
    return {**kept, **ours}


def _text(value: str) -> str:
    return _NOT_SQS_TEXT.sub("\ufffd", value)
