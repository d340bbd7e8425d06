"""Accounting for every upload after a run, from the buckets and the DLQ rather than the tracker.

Every uploaded imageId must end with a complete manifest or a quarantine entry (a `failed`
manifest, or a DLQ message naming its key); one with neither is lost. A quarantined upload must
be in the DLQ exactly once, however often it was redriven. More than one render of
the same image under `processed/` is duplicate image work.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from deploy.ops.dlq_reader import DlqReader
from loadtest.payloads import is_poison
from loadtest.tracker import Upload
from shared.keys import PROCESSED_PREFIX, manifest_key


@dataclass
class Ledger:
    """What became of the uploads."""

    uploaded: int = 0
    complete: int = 0
    quarantined: int = 0
    lost: list[str] = field(default_factory=list)
    duplicate_work: int = 0
    poison_not_quarantined: list[str] = field(default_factory=list)
    # Quarantined uploads not in the DLQ exactly once: a redrive (or a DLQ send) lost or doubled it.
    dlq_mismatch: list[str] = field(default_factory=list)
    redriven: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing was lost, every poison file was quarantined, and once."""
        return not self.lost and not self.poison_not_quarantined and not self.dlq_mismatch


def dlq_copies(sqs: Any, dlq_url: str) -> Counter[str]:
    """How many DLQ messages name each object key (every message is read once, then let go)."""
    copies: Counter[str] = Counter()
    with DlqReader(sqs, dlq_url, wait_s=0) as reader:
        for message in reader:
            if message.object_key:
                copies[message.object_key] += 1
    return copies


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
    copies = dlq_copies(sqs, dlq_url)
    ledger = Ledger(uploaded=len(uploads))
    for upload in uploads:
        state = status(s3, output_bucket, upload.image_id)
        if state == "complete":
            ledger.complete += 1
        elif state == "failed" or upload.key in copies:
            ledger.quarantined += 1
            if copies[upload.key] != 1:
                ledger.dlq_mismatch.append(f"{upload.image_id}: {copies[upload.key]} DLQ messages")
        else:
            ledger.lost.append(upload.image_id)
        if is_poison(upload.payload) and state != "failed" and upload.key not in copies:
            ledger.poison_not_quarantined.append(upload.image_id)
    counts = renders(s3, output_bucket, user)
    ledger.duplicate_work = sum(n - 1 for n in counts.values() if n > 1)
    return ledger
