"""`imgpipe status`: where the uploads are — queued, in flight, done, failed, quarantined."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from deploy.ops.dlq import peek
from shared.keys import METADATA_PREFIX
from shared.manifest import Manifest

MANIFEST_SAMPLE = 10_000


@dataclass(frozen=True)
class QueueDepth:
    """SQS's approximate counts for one queue."""

    visible: int
    in_flight: int
    delayed: int


@dataclass(frozen=True)
class Status:
    """A snapshot of the pipeline."""

    queue: QueueDepth
    dlq: QueueDepth
    dlq_by_error: Counter[str] = field(default_factory=Counter)
    manifests: Counter[str] = field(default_factory=Counter)
    sampled: bool = False


def queue_depth(sqs: Any, url: str) -> QueueDepth:
    """Visible, in-flight and delayed message counts."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible, in_flight, delayed = (int(attributes.get(name, 0)) for name in names)
    return QueueDepth(visible, in_flight, delayed)


def dlq_errors(sqs: Any, url: str) -> Counter[str]:
    """Quarantined messages by `imgpipe-error-type`, peeked without hiding them."""
    return Counter(message.error_type for message in peek(sqs, url))


def manifest_counts(s3: Any, bucket: str, limit: int = MANIFEST_SAMPLE) -> tuple[Counter[str], bool]:
    """Manifests by status (complete/failed), reading at most `limit`; True when that cut it short."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=METADATA_PREFIX):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
        if len(keys) >= limit:
            break

    def status(key: str) -> str:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return Manifest.model_validate_json(body).status

    with ThreadPoolExecutor(max_workers=16) as pool:
        return Counter(pool.map(status, keys[:limit])), len(keys) >= limit


def snapshot(s3: Any, sqs: Any, output_bucket: str, queue_url: str, dlq_url: str) -> Status:
    """Everything `imgpipe status` shows."""
    manifests, sampled = manifest_counts(s3, output_bucket)
    return Status(
        queue=queue_depth(sqs, queue_url),
        dlq=queue_depth(sqs, dlq_url),
        dlq_by_error=dlq_errors(sqs, dlq_url),
        manifests=manifests,
        sampled=sampled,
    )
