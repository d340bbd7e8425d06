"""`imgpipe status`: where the uploads are — queued, in flight, done, failed, quarantined.

The DLQ part is a complete read (every message, through `DlqReader`), not a sample, so its
breakdown by error type adds up to what is quarantined. With lanes (docs/fairness.md) each lane's
queue and the router's DLQ are shown too (`deploy.ops.lanes`).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deploy.ops.dlq import read
from deploy.ops.dlq.report import QueueDepth, ReadReport, queue_depth
from deploy.ops.lanes import LaneStatus, LaneUrls, lane_status
from shared.keys import METADATA_PREFIX
from shared.manifest import Manifest

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

MANIFEST_SAMPLE = 10_000

__all__ = [
    "MANIFEST_SAMPLE",
    "QueueDepth",
    "Status",
    "dlq_errors",
    "manifest_counts",
    "queue_depth",
    "snapshot",
]


@dataclass(frozen=True)
class Status:
    """A snapshot of the pipeline."""

    queue: QueueDepth
    dlq: QueueDepth
    dlq_read: ReadReport
    dlq_by_error: Counter[str] = field(default_factory=Counter)
    manifests: Counter[str] = field(default_factory=Counter)
    sampled: bool = False
    lanes: LaneStatus | None = None

    def as_json(self) -> dict[str, Any]:
        """`{"queue": {"visible", "inFlight", "delayed"}, "dlq": {"visible", "inFlight", "delayed",
        "total", "byErrorType": {type: n}, "read": {...}}, "images": {"complete", "failed", "sampled"},
        "lanes": LaneStatus.as_json() | null}`."""
        return {
            "queue": _depth(self.queue),
            "dlq": {
                **_depth(self.dlq),
                "total": sum(self.dlq_by_error.values()),
                "byErrorType": dict(self.dlq_by_error.most_common()),
                "read": self.dlq_read.as_json(),
            },
            "images": {
                "complete": self.manifests.get("complete", 0),
                "failed": self.manifests.get("failed", 0),
                "sampled": self.sampled,
            },
            "lanes": self.lanes.as_json() if self.lanes is not None else None,
        }


def _depth(depth: QueueDepth) -> dict[str, int]:
    return {"visible": depth.visible, "inFlight": depth.in_flight, "delayed": depth.delayed}


def dlq_errors(sqs: SQSClient, url: str) -> tuple[Counter[str], ReadReport]:
    """Every quarantined message by error type (`Exhausted` when SQS moved it), and how the read went."""
    messages, report = read(sqs, url)
    return Counter(message.error_type for message in messages), report


def manifest_counts(s3: S3Client, bucket: str, limit: int = MANIFEST_SAMPLE) -> tuple[Counter[str], bool]:
    """Manifests by status (complete/failed), reading at most `limit`; True when that cut it short."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=METADATA_PREFIX):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
        if len(keys) > limit:  # one more than the limit says there were more
            break

    def status(key: str) -> str:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return Manifest.model_validate_json(body).status

    with ThreadPoolExecutor(max_workers=16) as pool:
        return Counter(pool.map(status, keys[:limit])), len(keys) > limit


def snapshot(
    s3: S3Client,
    sqs: SQSClient,
    output_bucket: str,
    queue_url: str,
    dlq_url: str,
    lanes: LaneUrls | None = None,
) -> Status:
    """Everything `imgpipe status` shows (the lanes too, when given)."""
    queue = queue_depth(sqs, queue_url)
    by_error, report = dlq_errors(sqs, dlq_url)
    manifests, sampled = manifest_counts(s3, output_bucket)
    lane = lane_status(sqs, lanes) if lanes is not None else None
    return Status(queue, report.at_start, report, by_error, manifests, sampled, lane)
