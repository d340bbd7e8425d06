"""What must hold of an image its owner deleted, once every record is acknowledged (invariant 5).

A deletion covers every upload not newer than its `deletedAt` (S3's whole second); an upload
newer than that is a new upload, processed as any other. After the latest accepted tombstone:

- no key of the image holds an upload the deletion covered;
- unless a new upload came after it, the manifest is still a tombstone: no late event,
  duplicate, redrive or reprocess brought the image back;
- while the manifest is a tombstone, every render object left under the image belongs to a run
  that was never acknowledged (it crashed, or was left for retry) or whose cleanup met a refused
  DeleteObjects: a run that lost to the tombstone and was acknowledged removed what it wrote;
- after a sweep, nothing is left under the image's `processed/` prefixes: the tombstone, and
  nothing else.
"""

from __future__ import annotations

from datetime import datetime

from shared.keys import image_prefixes
from shared.manifest import Manifest, parse_time
from tests.integration.conftest import Stack
from tests.integration.model_deletion import latest_deletion
from tests.integration.model_world import World
from worker.orphans.plan import unit_of


def before_the_sweep(stack: Stack, world: World, manifest: Manifest | None) -> list[str]:
    """Invariant 5 as the runs left it: covered uploads gone, no comeback, no render forgotten."""
    deleted_at = latest_deletion(world.deletions)
    if deleted_at is None:
        return []
    line = parse_time(deleted_at)
    problems = [
        f"invariant 5: {key} still holds an upload the deletion at {deleted_at} covered"
        for key in world.keys
        if _covered(_modified(stack, key), line)
    ]
    newer = [u for u in world.uploads if u.modified is not None and not _covered(u.modified, line)]
    if manifest is None or not manifest.deleted:
        if not newer:
            what = f"{manifest.status} for {manifest.source.key}" if manifest else "no manifest"
            problems.append(f"invariant 5: the image deleted at {deleted_at} came back ({what}), "
                            "though nothing was uploaded after")  # fmt: skip
        return problems
    left = renders_left(stack, world)
    forgotten = sorted(key for key in left if unit_of(key)[-1] not in world.scheduler.abandoned)
    if forgotten:
        problems.append(f"invariant 5: a run acknowledged after the deletion left its render behind: "
                        f"{', '.join(forgotten)}")  # fmt: skip
    return problems


def after_the_sweep(stack: Stack, world: World, manifest: Manifest | None) -> list[str]:
    """Invariant 5 once swept: a tombstoned image has no render object left."""
    if manifest is None or not manifest.deleted:
        return []
    left = renders_left(stack, world)
    return (
        [f"invariant 5: after a sweep, objects of the deleted image are left: {', '.join(left)}"]
        if left
        else []
    )


def renders_left(stack: Stack, world: World) -> list[str]:
    """Every object under the image's two `processed/` prefixes."""
    return [
        key for prefix in image_prefixes(world.user_id, world.image_id) for key in stack.output_keys(prefix)
    ]


def newer_uploads_after_a_deletion(world: World) -> bool:
    """True when some upload came after (is newer than) some accepted deletion."""
    times = [parse_time(t.deleted_at) for run in world.deletions for t in run.tombstones if t.deleted_at]
    return bool(times) and any(u.modified is not None and not _covered(u.modified, min(times))
                               for u in world.uploads)  # fmt: skip


def _covered(modified: datetime | None, line: datetime) -> bool:
    return modified is not None and modified.replace(microsecond=0) <= line


def _modified(stack: Stack, key: str) -> datetime | None:
    try:
        head = stack.s3.head_object(Bucket=stack.topology.input_bucket, Key=key)
    except stack.s3.exceptions.ClientError:
        return None
    return head["LastModified"]
