"""Removing variant objects that no current manifest lists.

Orphans come from runs killed between their variant writes and their commit (an orphan render),
from the seed design's fixed keys once an image's manifest lists render-scoped ones (a legacy
variant), and from images whose manifest is gone. A manifest lists exactly the keys clients may
fetch, so everything else under `processed/` is garbage once it is older than any run still in
flight (a run writes its variants then commits within its invocation, at most 15 min on Lambda):
only objects last modified before the cut-off are removed, and never a key any manifest lists.
If a manifest cannot be read, nothing is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deploy.ops.refused import Refused
from shared.keys import METADATA_PREFIX, PROCESSED_PREFIX, WATERMARKED_USER, image_prefixes
from shared.manifest import Manifest

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
READ_WORKERS = 16
MANIFEST_NAME = "/processing-info.json"


class SweepError(RuntimeError):
    """The sweep cannot know what is listed (a manifest could not be read): nothing is removed."""


@dataclass(frozen=True)
class Stored:
    """One object under `processed/`."""

    key: str
    bytes: int
    last_modified: datetime


@dataclass(frozen=True)
class Orphan:
    """An object to remove, and what kind of garbage it is."""

    stored: Stored
    reason: str  # "orphan render", "legacy variant", "no manifest"


@dataclass
class Plan:
    """What a sweep removes and keeps; computed without changing anything."""

    manifests: int
    remove: list[Orphan] = field(default_factory=list)
    listed: list[Stored] = field(default_factory=list)
    recent: list[Stored] = field(default_factory=list)


def read_manifests(s3: Any, bucket: str, on_read: Callable[[], None] = lambda: None) -> list[Manifest]:
    """Every manifest in `bucket`; `SweepError` if any cannot be read or parsed."""
    keys = [obj.key for obj in _list(s3, bucket, METADATA_PREFIX) if obj.key.endswith(MANIFEST_NAME)]

    def read(key: str) -> Manifest:
        try:
            return Manifest.model_validate_json(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ValueError as exc:
            raise SweepError(f"cannot read the manifest {key}, so nothing was removed: {exc}") from exc
        finally:
            on_read()

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        return list(pool.map(read, keys))


def list_processed(s3: Any, bucket: str) -> list[Stored]:
    """Every object under `processed/`."""
    return _list(s3, bucket, PROCESSED_PREFIX)


def plan(manifests: Sequence[Manifest], stored: Sequence[Stored], cutoff: datetime) -> Plan:
    """Split `stored` into kept (listed, or modified after `cutoff`) and orphans to remove."""
    listed = {variant.key for manifest in manifests for variant in manifest.variants}
    images = {p for manifest in manifests for p in image_prefixes(manifest.user_id, manifest.image_id)}
    result = Plan(manifests=len(manifests))
    for obj in stored:
        if obj.key in listed:
            result.listed.append(obj)
        elif obj.last_modified >= cutoff:
            result.recent.append(obj)
        else:
            result.remove.append(Orphan(obj, _kind(obj.key, images)))
    return result


def _kind(key: str, images: set[str]) -> str:
    parts = key[len(PROCESSED_PREFIX) :].split("/")
    depth = 3 if parts[0] == WATERMARKED_USER else 2  # (watermarked/)user/image/
    prefix = PROCESSED_PREFIX + "/".join(parts[:depth]) + "/"
    if prefix not in images:
        return "no manifest"
    return "orphan render" if len(parts) > depth + 1 else "legacy variant"


def delete(
    s3: Any, bucket: str, orphans: Sequence[Orphan], on_deleted: Callable[[int], None] = lambda _: None
) -> list[Refused]:
    """DeleteObjects in batches of 1000; returns every key S3 reported it could not delete."""
    errors: list[Refused] = []
    for start in range(0, len(orphans), DELETE_BATCH):
        chunk = orphans[start : start + DELETE_BATCH]
        response = s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": orphan.stored.key} for orphan in chunk], "Quiet": True},
        )
        errors.extend(
            Refused(str(e.get("Key")), str(e.get("Code")), str(e.get("Message", "")))
            for e in response.get("Errors", [])
        )
        on_deleted(len(chunk))
    return errors


def _list(s3: Any, bucket: str, prefix: str) -> list[Stored]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [
        Stored(obj["Key"], int(obj.get("Size", 0)), obj["LastModified"])
        for page in pages
        for obj in page.get("Contents", [])
    ]


def report(
    bucket: str, older_than_s: float, dry_run: bool, plan: Plan, failed: Sequence[Refused]
) -> dict[str, Any]:
    """The `imgpipe sweep --json` document (see the command's help for its shape)."""
    missed = {f.key for f in failed}
    removed = [o.stored for o in plan.remove if o.stored.key not in missed]
    kept = plan.listed + plan.recent
    return {
        "bucket": bucket, "olderThanS": older_than_s, "dryRun": dry_run, "manifests": plan.manifests,
        "removed": {"objects": len(removed), "bytes": sum(s.bytes for s in removed)},
        "kept": {"objects": len(kept), "bytes": sum(s.bytes for s in kept),
                 "listed": len(plan.listed), "recent": len(plan.recent)},
        "objects": [
            {"key": o.stored.key, "bytes": o.stored.bytes,
             "lastModified": o.stored.last_modified.isoformat(), "reason": o.reason}
            for o in plan.remove
        ],
        "failed": [f.as_json() for f in failed],
    }  # fmt: skip
