"""Re-queueing existing uploads as the S3 events the pipeline already understands.

After a variant change (or a fix), existing images are rendered again by sending the work queue
the `ObjectCreated:Put` event S3 would have sent for each upload, straight to SQS (no SNS, so no
other subscriber sees a fake upload). The worker keys duplicates on the upload's ETag and the
variant-config hash, never on the messageId, so an image whose complete manifest covers both
does no work: re-queueing everything is safe, and `stale` selects what would be rendered *if the
workers run the configuration the caller gives* (the CLI warns when no manifest was rendered
under it). Failed uploads are not stale: their failure is the file's, and `dlq redrive` (with its
poison guard) is their way back. Nor is an upload whose owner deleted the image (its manifest is
a tombstone covering it): such uploads are never re-queued (`without_deleted` names them), and
the worker would acknowledge their events as deleted anyway; only an upload newer than the
deletion is.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from deploy.ops.refused import Refused
from deploy.ops.requeue import BATCH, Pacer, send_events
from deploy.ops.uploads import read_manifest
from shared.errors import InvalidKey
from shared.keys import UPLOAD_PREFIX, parse_upload_key
from shared.manifest import Manifest, normalise_etag, now_iso

__all__ = [
    "BATCH", "CHECK_WORKERS", "Listing", "Pacer", "Upload", "event_body", "list_uploads", "only_stale",
    "report", "send_events", "stale_reason", "without_deleted",
]  # fmt: skip

CHECK_WORKERS = 16


@dataclass(frozen=True)
class Upload:
    """One upload to re-queue, and why it was chosen."""

    key: str
    etag: str
    size: int
    user_id: str
    image_id: str
    reason: str = "requested"
    modified: datetime | None = None  # S3's Last-Modified: before or after a deletion


@dataclass(frozen=True)
class Listing:
    """The uploads under a prefix, and keys there the worker would refuse (never re-queued)."""

    uploads: list[Upload] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def list_uploads(s3: Any, bucket: str, user: str | None = None) -> Listing:
    """Every object under `uploads/` (or `uploads/{user}/`), split into uploads and invalid keys."""
    listing = Listing()
    prefix = f"{UPLOAD_PREFIX}{user}/" if user else UPLOAD_PREFIX
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            try:
                parsed = parse_upload_key(obj["Key"])
            except InvalidKey:
                listing.invalid.append(obj["Key"])
                continue
            etag = normalise_etag(obj.get("ETag")) or ""
            upload = Upload(obj["Key"], etag, int(obj.get("Size", 0)), parsed.user_id, parsed.image_id,
                            modified=obj.get("LastModified"))  # fmt: skip
            listing.uploads.append(upload)
    return listing


def stale_reason(upload: Upload, manifest: Manifest | None, config_hash: str) -> str | None:
    """Why the worker would render `upload` again under `config_hash`, or None when it would not."""
    if manifest is None:
        return "no manifest"
    if manifest.deleted:  # before the key check: a tombstone's source may be the imageId's other key
        return None if manifest.deletion_covers(upload.modified) else "uploaded after a deletion"
    if manifest.source.key != upload.key:
        return None  # the imageId is another key's: re-queueing would only quarantine it again
    if normalise_etag(manifest.source.etag) != upload.etag:
        return "upload changed"
    if manifest.status == "failed":
        # Its failure is the file's, not the variants': it would only be quarantined again, with
        # a fresh redrive count that hides it from the poison guard. `dlq redrive` is the way back.
        return None
    if manifest.pipeline.config_hash != config_hash:
        return "variants changed"
    return None


def only_stale(
    s3: Any,
    output_bucket: str,
    uploads: Sequence[Upload],
    config_hash: str,
    on_checked: Callable[[Upload], None] = lambda _: None,
    hashes: Counter[str] | None = None,
) -> list[Upload]:
    """The uploads whose manifest is missing, for another upload, or of another configuration.

    `hashes`, when given, counts the configuration hash of every complete manifest read, so the
    caller can tell when its configuration is not the one the workers render with.
    """

    def check(upload: Upload) -> Upload | None:
        try:
            manifest = read_manifest(s3, output_bucket, upload.image_id)
        except ValueError:  # not a manifest this version can read: let the worker decide
            return replace(upload, reason="manifest unreadable")
        finally:
            on_checked(upload)
        if hashes is not None and manifest is not None and manifest.status == "complete":
            hashes[manifest.pipeline.config_hash] += 1
        reason = stale_reason(upload, manifest, config_hash)
        return replace(upload, reason=reason) if reason else None

    with ThreadPoolExecutor(max_workers=CHECK_WORKERS) as pool:
        return [u for u in pool.map(check, uploads) if u is not None]


def without_deleted(
    s3: Any, output_bucket: str, uploads: Sequence[Upload]
) -> tuple[list[Upload], list[Upload]]:
    """`uploads` split into those to re-queue and those whose owner deleted the image (their
    manifest is a tombstone that covers them), which are never re-queued."""

    def covered(upload: Upload) -> bool:
        try:
            manifest = read_manifest(s3, output_bucket, upload.image_id)
        except ValueError:
            return False  # not a manifest this version can read: let the worker decide
        return manifest is not None and manifest.deleted and manifest.deletion_covers(upload.modified)

    with ThreadPoolExecutor(max_workers=CHECK_WORKERS) as pool:
        flags = list(pool.map(covered, uploads))
    kept = [upload for upload, flag in zip(uploads, flags, strict=True) if not flag]
    return kept, [upload for upload, flag in zip(uploads, flags, strict=True) if flag]


def event_body(bucket: str, upload: Upload, region: str) -> str:
    """The raw S3 notification for `upload`, as S3 would deliver it (key encoded with `+`)."""
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": now_iso(),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "imgpipe-reprocess"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "imgpipe-reprocess",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(upload.key, safe="/"), "size": upload.size, "eTag": upload.etag},
        },
    }
    return json.dumps({"Records": [record]})


def report(
    bucket: str,
    queue_url: str,
    user: str | None,
    config_hash: str | None,
    rate: float,
    dry_run: bool,
    listing: Listing,
    selected: Sequence[Upload],
    failed: Sequence[Refused],
    elapsed_s: float,
    deleted: Sequence[Upload] = (),
) -> dict[str, Any]:
    """The `imgpipe reprocess --json` document (see the command's help for its shape); `deleted`:
    the uploads skipped because their owner deleted the image."""
    return {
        "bucket": bucket, "queueUrl": queue_url or None, "user": user, "stale": config_hash is not None,
        "dryRun": dry_run, "configHash": config_hash, "rate": rate, "listed": len(listing.uploads),
        "selected": len(selected), "queued": 0 if dry_run else len(selected) - len(failed),
        "elapsedS": round(elapsed_s, 3),
        "uploads": [
            {"key": u.key, "imageId": u.image_id, "userId": u.user_id, "etag": u.etag,
             "bytes": u.size, "reason": u.reason}
            for u in selected
        ],
        "failed": [f.as_json() for f in failed],
        "invalidKeys": list(listing.invalid),
        "deleted": [u.key for u in deleted],
    }  # fmt: skip
