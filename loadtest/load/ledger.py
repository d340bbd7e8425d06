"""Accounting for every upload after a run, from the buckets and the DLQ rather than the tracker.

Every uploaded imageId must end with a complete manifest or a quarantine entry (a `failed`
manifest, or a DLQ message naming its key); one with neither is lost. A quarantined upload must
be in the DLQ (once: a second copy, which SQS's at-least-once delivery or a redrive whose delete
failed can make, is reported, not failed). More than one render of
the same image under `processed/{sub}/` is duplicate image work.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deploy.ops.dlq.reader import DlqReader
from loadtest.load.payloads import is_poison
from loadtest.load.tracker import Upload, processed_at
from shared.keys import PROCESSED_PREFIX, manifest_key

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient


@dataclass
class Ledger:
    """What became of the uploads."""

    uploaded: int = 0
    poison: int = 0  # of the uploads, the files that must end quarantined
    complete: int = 0
    quarantined: int = 0
    lost: list[str] = field(default_factory=list)
    duplicate_work: int = 0
    poison_not_quarantined: list[str] = field(default_factory=list)
    dlq_copies: dict[str, int] = field(default_factory=dict)  # quarantined imageId -> DLQ messages
    good_not_complete: list[str] = field(default_factory=list)  # a valid photo quarantined
    unexplained: list[str] = field(default_factory=list)  # quarantined with no reason anywhere
    late: int = 0  # ended after the tracker stopped following them; outcome read from the manifest
    redriven: int = 0

    def line(self) -> str:
        """The ledger as one line: `ledger: uploaded=.. complete=.. quarantined=.. lost=.. ...`."""
        return (
            f"ledger: uploaded={self.uploaded} complete={self.complete} quarantined={self.quarantined}"
            f" lost={len(self.lost)} duplicate_image_work={self.duplicate_work} poison_sent={self.poison}"
        )

    def _copies(self, wanted: Callable[[int], bool]) -> list[str]:
        return [f"{image}: {n} DLQ messages" for image, n in self.dlq_copies.items() if wanted(n)]

    @property
    def dlq_mismatch(self) -> list[str]:
        """Quarantined uploads not in the DLQ exactly once."""
        return self._copies(lambda n: n != 1)

    @property
    def dlq_missing(self) -> list[str]:
        """Quarantined uploads with no DLQ message: an operator would never see them."""
        return self._copies(lambda n: n == 0)

    @property
    def dlq_doubled(self) -> list[str]:
        """Quarantined uploads in the DLQ more than once (reported, not a failure)."""
        return self._copies(lambda n: n > 1)

    def problems(self) -> dict[str, list[str]]:
        """Every way the run failed, by name (empty when it held)."""
        named = {
            "lost": self.lost,
            "poison not quarantined": self.poison_not_quarantined,
            "quarantined but not in the DLQ": self.dlq_missing,
            "valid photo not complete": self.good_not_complete,
            "quarantined without a reason": self.unexplained,
        }
        return {name: entries for name, entries in named.items() if entries}

    def problem_lines(self, limit: int = 10) -> list[str]:
        """`name: entry` for the first `limit` entries of each problem, as the runners print them."""
        return [f"{name}: {entry}" for name, entries in self.problems().items() for entry in entries[:limit]]

    @property
    def ok(self) -> bool:
        """True when nothing was lost, every poison file was quarantined, once and with a reason,
        and every valid photo ended complete."""
        return not self.problems()


def dlq_reasons(sqs: SQSClient, dlq_url: str) -> dict[str, list[str]]:
    """The reasons of the DLQ messages naming each object key (each message read once, let go)."""
    reasons: dict[str, list[str]] = {}
    with DlqReader(sqs, dlq_url, wait_s=0) as reader:
        for message in reader:
            if message.object_key:
                reasons.setdefault(message.object_key, []).append(message.reason)
    return reasons


def renders(s3: S3Client, bucket: str, users: set[str]) -> Counter[str]:
    """How many distinct renders each image of `users` has under `processed/`."""
    seen: set[tuple[str, str]] = set()
    for user in sorted(users):
        prefix = f"{PROCESSED_PREFIX}{user}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                parts = item["Key"][len(prefix) :].split("/")
                if len(parts) >= 2:
                    seen.add((parts[0], parts[1]))
    return Counter(image for image, _ in seen)


def manifest(s3: S3Client, bucket: str, image_id: str) -> dict[str, Any]:
    """The manifest of `image_id` ({} when it has none)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=manifest_key(image_id))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return {}
    found = json.loads(body)
    return found if isinstance(found, dict) else {}


def status(s3: S3Client, bucket: str, image_id: str) -> str | None:
    """The manifest status of `image_id`, or None when it has no manifest."""
    value = manifest(s3, bucket, image_id).get("status")
    return str(value) if value else None


def reconcile(
    s3: S3Client,
    sqs: SQSClient,
    output_bucket: str,
    dlq_url: str,
    uploads: list[Upload],
    reasons: dict[str, list[str]] | None = None,
) -> Ledger:
    """The ledger of `uploads`, read from the output bucket and the DLQ (or `reasons`, the
    caller's own `dlq_reasons`); an upload its client did not see end gets its outcome and e2e
    time from its manifest, so the figures agree. Whose each upload is comes from its key (the
    API put it under the user's sub), so renders are counted under every user the run had."""
    reasons = dlq_reasons(sqs, dlq_url) if reasons is None else reasons
    ledger = Ledger(uploaded=len(uploads))
    for upload in uploads:
        found = manifest(s3, output_bucket, upload.image_id)
        state, in_dlq = found.get("status"), reasons.get(upload.key, [])
        if state == "complete" or state == "failed" or in_dlq:
            _settle_late(upload, found, ledger)
        if state == "complete":
            ledger.complete += 1
        elif state == "failed" or in_dlq:
            ledger.quarantined += 1
            _check_quarantine(upload, found, in_dlq, ledger)
        else:
            ledger.lost.append(f"{upload.image_id} ({upload.payload}, {upload.key})")
        ledger.poison += is_poison(upload.payload)
        if is_poison(upload.payload) and state != "failed" and not in_dlq:
            ledger.poison_not_quarantined.append(upload.image_id)
    counts = renders(s3, output_bucket, {upload.user for upload in uploads})
    ledger.duplicate_work = sum(n - 1 for n in counts.values() if n > 1)
    return ledger


def _check_quarantine(upload: Upload, found: dict[str, Any], in_dlq: list[str], ledger: Ledger) -> None:
    ledger.dlq_copies[upload.image_id] = len(in_dlq)
    if not is_poison(upload.payload):
        ledger.good_not_complete.append(f"{upload.image_id} ({upload.payload}): {_reason(found, in_dlq)}")
    if not _reason(found, in_dlq):
        ledger.unexplained.append(upload.image_id)


def _reason(found: dict[str, Any], in_dlq: list[str]) -> str:
    error = found.get("error") or {}
    text = f"{error.get('type', '')}: {error.get('message', '')}" if error.get("message") else ""
    return text or next((reason for reason in in_dlq if reason), "")


def _settle_late(upload: Upload, found: dict[str, Any], ledger: Ledger) -> None:
    if upload.outcome in ("complete", "quarantined"):
        return
    ledger.late += 1
    upload.outcome = "complete" if found.get("status") == "complete" else "quarantined"
    if "processedAt" in found:
        upload.processed_at = processed_at(found["processedAt"])
        upload.e2e_ms = upload.pipeline_ms  # no client saw it end: the pipeline's part is all there is
