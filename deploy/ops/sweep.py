"""Removing variant objects that no current manifest lists.

Orphans come from runs killed between their variant writes and their commit (an orphan render),
from the seed design's fixed keys once an image's manifest lists render-scoped ones (a legacy
variant), and from images whose manifest is gone. A manifest lists exactly the keys clients may
fetch, so everything else under `processed/` is garbage once no run can still commit it.

Why a listed render is never removed, by construction: the cut-off is taken when the sweep
starts, before any manifest or listing is read (`cutoff`), and is at least the longest a run
takes from its variant writes to its commit (15 minutes on Lambda; `imgpipe sweep` warns below
that). A render is judged whole, by its newest object, plain and watermarked variants together
(`worker.orphans.plan`). If that newest object is older than the cut-off, the run that wrote it
committed, if it ever did, before the sweep started, so every manifest the sweep reads (all read
after the start) shows that commit or a later one that replaced it; a render committed while the
sweep runs is younger than the cut-off and never a candidate, however long the sweep takes. Only
unlisted objects of such renders are removed, never a key any manifest lists. If a manifest
cannot be read, nothing is removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from deploy.ops.refused import Refused
from shared.keys import METADATA_PREFIX, PROCESSED_PREFIX
from shared.manifest import Manifest
from worker.orphans.plan import Orphan, Plan, Stored, plan

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

__all__ = [
    "DELETE_BATCH", "MANIFEST_NAME", "READ_WORKERS", "Orphan", "Plan", "Stored", "SweepError",
    "cutoff", "delete", "list_processed", "plan", "read_manifests", "report",
]  # fmt: skip

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
READ_WORKERS = 16
MANIFEST_NAME = "/processing-info.json"


class SweepError(RuntimeError):
    """The sweep cannot know what is listed (a manifest could not be read): nothing is removed."""


def cutoff(older_than_s: float, now: datetime | None = None) -> datetime:
    """The sweep's cut-off: taken at its start, before anything is read (see the module)."""
    return (now or datetime.now(UTC)) - timedelta(seconds=older_than_s)


def read_manifests(s3: S3Client, bucket: str, on_read: Callable[[], None] = lambda: None) -> list[Manifest]:
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


def list_processed(s3: S3Client, bucket: str) -> list[Stored]:
    """Every object under `processed/`."""
    return _list(s3, bucket, PROCESSED_PREFIX)


def delete(
    s3: S3Client, bucket: str, orphans: Sequence[Orphan], on_deleted: Callable[[int], None] = lambda _: None
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


def _list(s3: S3Client, bucket: str, prefix: str) -> list[Stored]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [
        Stored(obj["Key"], int(obj.get("Size", 0)), obj["LastModified"])
        for page in pages
        for obj in page.get("Contents", [])
    ]


def report(
    bucket: str,
    older_than_s: float,
    dry_run: bool,
    plan: Plan,
    failed: Sequence[Refused],
    cutoff: datetime | None = None,
) -> dict[str, Any]:
    """The `imgpipe sweep --json` document (see the command's help for its shape)."""
    missed = {f.key for f in failed}
    removed = [o.stored for o in plan.remove if o.stored.key not in missed]
    kept = plan.listed + plan.recent
    return {
        "bucket": bucket, "olderThanS": older_than_s, "cutoff": cutoff.isoformat() if cutoff else None,
        "dryRun": dry_run, "manifests": plan.manifests,
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
