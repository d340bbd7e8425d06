"""Accounting for every upload after a run, from the buckets and the DLQ rather than the tracker.

Every uploaded imageId must end with a complete manifest or a quarantine entry (a `failed`
manifest, or a DLQ message naming its key); one with neither is lost. More than one render of
the same image under `processed/` is duplicate image work.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadtest.payloads import is_poison
from loadtest.tracker import Upload
from shared.keys import PROCESSED_PREFIX, manifest_key

DLQ_HOLD_S = 30


@dataclass
class Ledger:
    """What became of the uploads."""

    uploaded: int = 0
    complete: int = 0
    quarantined: int = 0
    lost: list[str] = field(default_factory=list)
    duplicate_work: int = 0
    poison_not_quarantined: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was lost and every poison file was quarantined."""
        return not self.lost and not self.poison_not_quarantined


def dlq_keys(sqs: Any, dlq_url: str) -> set[str]:
    """Object keys the DLQ's messages name; messages are held briefly and then let go."""
    keys: set[str] = set()
    seen: set[str] = set()
    receipts: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=DLQ_HOLD_S,
            MessageAttributeNames=["All"], WaitTimeSeconds=0,
        ).get("Messages", [])  # fmt: skip
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            receipts.append(message["ReceiptHandle"])
            keys.update(_keys(message))
    for start in range(0, len(receipts), 10):
        entries = [{"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0} for i, r in
                   enumerate(receipts[start : start + 10])]  # fmt: skip
        sqs.change_message_visibility_batch(QueueUrl=dlq_url, Entries=entries)
    return keys


def _keys(message: dict[str, Any]) -> set[str]:
    attribute = (message.get("MessageAttributes") or {}).get("imgpipe-object-key") or {}
    if attribute.get("StringValue"):
        return {attribute["StringValue"]}
    try:
        records = json.loads(message["Body"]).get("Records", [])
    except (ValueError, AttributeError):
        return set()
    return {r.get("s3", {}).get("object", {}).get("key", "") for r in records}


def renders(s3: Any, bucket: str, user: str) -> Counter[str]:
    """How many distinct renders each image of `user` has under `processed/`."""
    seen: set[tuple[str, str]] = set()
    prefix = f"{PROCESSED_PREFIX}{user}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            parts = item["Key"][len(prefix) :].split("/")
            if len(parts) >= 2:
                seen.add((parts[0], parts[1]))
    return Counter(image for image, _ in seen)


def status(s3: Any, bucket: str, image_id: str) -> str | None:
    """The manifest status of `image_id`, or None when it has no manifest."""
    try:
        body = s3.get_object(Bucket=bucket, Key=manifest_key(image_id))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    value = json.loads(body).get("status")
    return str(value) if value else None


def reconcile(
    s3: Any, sqs: Any, output_bucket: str, dlq_url: str, uploads: list[Upload], user: str
) -> Ledger:
    """The ledger of `uploads`, read from the output bucket and the DLQ."""
    quarantined_keys = dlq_keys(sqs, dlq_url)
    ledger = Ledger(uploaded=len(uploads))
    for upload in uploads:
        state = status(s3, output_bucket, upload.image_id)
        if state == "complete":
            ledger.complete += 1
        elif state == "failed" or upload.key in quarantined_keys:
            ledger.quarantined += 1
        else:
            ledger.lost.append(upload.image_id)
        if is_poison(upload.payload) and state != "failed" and upload.key not in quarantined_keys:
            ledger.poison_not_quarantined.append(upload.image_id)
    counts = renders(s3, output_bucket, user)
    ledger.duplicate_work = sum(n - 1 for n in counts.values() if n > 1)
    return ledger
