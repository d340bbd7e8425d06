"""The manifest commit: the one conditional write that makes a run's result the image's result.

Every run writes its variants under keys of its own render (`.../{renderId}/...`) that no other
run ever writes, so no interleaving of runs can change the bytes behind a committed manifest.
The manifest is written only if it is unchanged since this run read it (IfMatch its ETag, or
IfNoneMatch when there was none). A run that finds it changed reads it again and decides: its own
earlier attempt landed (done), an equal result is there (nothing to write), the imageId belongs
to another key (conflict), its upload was replaced or deleted (stop), or its upload is still the
key's current one (write again, over what is there now).

A failed manifest is committed the same way (`worker.answers.failure_may_replace` decides what
it may replace). Before any of this, the stored manifest may already answer a delivery
(`worker.answers.answered`): then there is nothing to render and nothing to write.

Variants are deleted by two kinds of run only: the one whose commit replaced a manifest deletes
that manifest's variants, and one that has seen another run's manifest win deletes its own.
Neither can touch what the current manifest lists.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.errors import ImageIdConflict, RetryableError, SourceMissing, Superseded
from shared.keys import image_prefixes, manifest_key
from shared.manifest import Manifest, normalise_etag
from shared.observability import MetricUnit, logger, metrics
from worker import storage
from worker.answers import deletion_covers, failure_may_replace
from worker.deadline import retry_step
from worker.events import ObjectRef
from worker.job import Job

MAX_COMMIT_RACES = 4


@dataclass(frozen=True)
class Commit:
    """How a commit ended: `written` over `replaced`, or not written because `kept` stays."""

    written: bool
    replaced: Manifest | None = None
    kept: Manifest | None = None


async def read_stored(job: Job, image_id: str) -> storage.StoredManifest:
    """The image's manifest as stored now, with its ETag (the precondition of the next commit)."""
    s3, bucket = job.clients.s3, job.settings.output_bucket
    return await retry_step(job.deadline, lambda: storage.read_manifest(s3, bucket, image_id))


async def read_head(job: Job, ref: ObjectRef) -> storage.Head | None:
    """What the upload key holds now (None once deleted)."""
    return await retry_step(job.deadline, lambda: storage.head(job.clients.s3, ref.bucket, ref.key))


async def commit(manifest: Manifest, stored: storage.StoredManifest, ref: ObjectRef, job: Job) -> Commit:
    """Write `manifest` unless another run changed the key since `stored`; then decide again.

    Raises `ImageIdConflict`, `SourceMissing` or `Superseded` when a complete result lost for
    good; `RetryableError` when the outcome is unknown (the write may have landed).
    """
    job.progress.at("committing the manifest")
    # The last manifest this run saw in place: the one its commit replaces. A manifest deleted
    # meanwhile (an operator clearing metadata/) still had variants, and nobody else removes them.
    replaced = stored.manifest
    for _ in range(MAX_COMMIT_RACES):
        write = functools.partial(write_manifest, manifest, job, stored.precondition)
        try:
            await retry_step(job.deadline, write)
            return Commit(True, replaced=replaced)
        except Superseded:
            now = await read_stored(job, manifest.image_id)
        if now.manifest is not None and now.manifest.pipeline.render_id == manifest.pipeline.render_id:
            return Commit(True, replaced=replaced)  # an earlier attempt landed; its answer was lost
        if not await _still_worth_writing(manifest, now, ref, job):
            return Commit(False, kept=now.manifest)
        stored, replaced = now, now.manifest or replaced
    raise RetryableError(
        f"the manifest of {manifest.image_id!r} kept changing during {MAX_COMMIT_RACES} commits"
    )


async def _still_worth_writing(
    manifest: Manifest, now: storage.StoredManifest, ref: ObjectRef, job: Job
) -> bool:
    # The same order as every first write: what the manifest holds was read (`now`), and only
    # then is the key looked at, so a newer upload's result read here is always seen as newer.
    other, complete = now.manifest, manifest.status == "complete"
    if other is not None and other.deleted:
        # The owner deleted the image: what the deletion covers never comes back. Only an upload
        # newer than it is written over the tombstone, by the rules below.
        head = await read_head(job, ref)
        return not deletion_covers(other, ref, head) and _worth_it(manifest, other, head, ref)
    if other is not None and other.source.key != ref.key:
        if complete:
            raise ImageIdConflict(f"imageId {manifest.image_id!r} already belongs to {other.source.key!r}")
        return False  # a failure never replaces another key's result
    source = manifest.source
    if other is not None and other.covers(source.etag, source.version_id, manifest.pipeline.config_hash):
        return False  # a complete result of the same source and configuration: nothing to add
    return _worth_it(manifest, other, await read_head(job, ref), ref)


def _worth_it(manifest: Manifest, other: Manifest | None, head: storage.Head | None, ref: ObjectRef) -> bool:
    # Decided on what the key held when looked at, after `other` was read.
    current = head.etag if head is not None else None
    if manifest.status != "complete":
        return failure_may_replace(manifest, other, current)
    etag = normalise_etag(manifest.source.etag)
    if current == etag:
        return True
    if current is None:
        raise SourceMissing(f"s3://{ref.bucket}/{ref.key} was deleted while it was processed")
    raise Superseded(f"s3://{ref.bucket}/{ref.key} changed from {etag} to {current} while it was processed")


async def write_manifest(manifest: Manifest, job: Job, precondition: dict[str, str] | None = None) -> None:
    """Write `metadata/{imageId}/processing-info.json`, optionally only if unchanged since read."""
    settings = job.settings
    await storage.put_object(
        job.clients.s3,
        settings.output_bucket,
        manifest_key(manifest.image_id),
        manifest.to_json(),
        "application/json",
        "no-cache",  # the pointer to the current render: always revalidated
        settings.kms_key_id,
        {"config-hash": manifest.pipeline.config_hash},
        precondition,
    )


async def remove_replaced(written: Manifest, replaced: Manifest | None, job: Job) -> None:
    """Delete the variants of the manifest that `written` replaced; best effort."""
    if replaced is None:
        return
    keep = {variant.key for variant in written.variants}
    prefixes = image_prefixes(replaced.user_id, replaced.image_id)
    stale = [v.key for v in replaced.variants if v.key not in keep and v.key.startswith(prefixes)]
    await remove_variants(stale, job, "superseded")


async def remove_variants(keys: list[str], job: Job, why: str) -> None:
    """Delete variant objects no manifest lists; what cannot be deleted now is logged, not raised."""
    if not keys:
        return
    s3, bucket = job.clients.s3, job.settings.output_bucket
    try:
        left = await retry_step(job.deadline, lambda: storage.delete_objects(s3, bucket, keys))
    except RetryableError as exc:
        left = keys
        logger.warning("variants not removed", extra={"why": why, "keys": keys, "reason": str(exc)})
    metrics.add_metric(name="VariantsRemoved", unit=MetricUnit.Count, value=len(keys) - len(left))
    if left:
        metrics.add_metric(name="VariantsOrphaned", unit=MetricUnit.Count, value=len(left))
