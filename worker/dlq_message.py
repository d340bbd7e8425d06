"""The quarantine message's reason: the `imgpipe-*` attributes beside the original SQS body.

The body is never changed, so a redrive re-injects exactly what arrived; everything the operator
needs to know (why, when, which key, which file, how often it was redriven) travels in string
attributes, cleaned of the characters SQS refuses there.
"""

from __future__ import annotations

import re

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.errors import PermanentError
from shared.manifest import now_iso
from worker import storage
from worker.events import ObjectRef
from worker.job import REDRIVE_COUNT

MAX_REASON = 1000
# Characters SQS accepts in a String attribute; anything else (control characters from a
# hostile key, say) would make SendMessage fail and the quarantine with it.
_NOT_SQS_TEXT = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def attribute_text(value: str) -> str:
    """`value` with every character SQS refuses in attributes replaced by U+FFFD."""
    return _NOT_SQS_TEXT.sub("\ufffd", value)


def dlq_attributes(
    record: SQSRecord, error: PermanentError, ref: ObjectRef | None, head: storage.Head | None
) -> dict[str, str]:
    """The `imgpipe-*` attributes of the quarantine message for `record`."""
    attributes = {
        "imgpipe-error-type": error.error_type,
        "imgpipe-error-message": str(error)[:MAX_REASON] or error.error_type,
        "imgpipe-failed-at": now_iso(),
        "imgpipe-source-queue": record.event_source_arn or "unknown",
        "imgpipe-receive-count": str(record.attributes.approximate_receive_count or "0"),
    }
    if ref is not None:
        attributes["imgpipe-object-key"] = ref.key
    if head is not None and head.original_filename:
        attributes["imgpipe-original-filename"] = head.original_filename
    if redrives := _string_attribute(record, REDRIVE_COUNT):
        attributes[REDRIVE_COUNT] = redrives  # the redrive's poison-loop guard counts on
    return {name: attribute_text(value) for name, value in attributes.items()}


def _string_attribute(record: SQSRecord, name: str) -> str | None:
    value = record.raw_event.get("messageAttributes", {}).get(name) or {}
    text = value.get("stringValue")
    return str(text) if text else None
