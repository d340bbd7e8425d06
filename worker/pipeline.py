"""One uploaded object to its variants and manifest, as a short list of named steps.

identify the key -> skip if the manifest already answers this delivery (a tombstone of a deletion
that covers its upload, a complete result of this version and configuration, or the file's own
failure: `worker.answers`) -> read the
source once (only the announced version) -> render every variant and its sha256 off the event
loop, once the memory budget admits it (`worker.rendering`) -> write all variants under keys of
this render -> commit the manifest (`worker.outputs`, `worker.commit`) -> remove the render it
replaced -> check the key does not hold a newer upload than the manifest describes, and catch up
with it if so. Transient failures are retried per step; permanent ones propagate to the record
handler, which quarantines them (`worker.failures`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Literal

from shared.errors import ImageIdConflict, RetryableError, Superseded
from shared.keys import UploadKey, is_upload, new_render_id, parse_upload_key
from shared.manifest import Manifest
from shared.observability import MetricUnit, logger, metrics
from worker import storage
from worker.answers import answered, deletion_covers
from worker.commit import read_head, read_stored, remove_replaced
from worker.deadline import retry_step
from worker.events import ObjectRef
from worker.job import Job
from worker.outputs import (
    commit_or_discard,
    complete_manifest,
    record_metrics,
    variant_records,
    write_variants,
)
from worker.rendering import admitted_render

Status = Literal["processed", "duplicate", "ignored", "superseded", "deleted"]
MAX_CATCH_UPS = 3


@dataclass(frozen=True)
class Outcome:
    """How one object ended, when it did not fail; `etag` is the upload the manifest describes."""

    status: Status
    key: str
    etag: str | None = None
    manifest: Manifest | None = None  # the manifest this run committed, to announce


async def process_object(ref: ObjectRef, job: Job) -> Outcome:
    """Produce every variant of `ref` and its manifest, or find it already done; then make sure
    the manifest describes the key's current upload before the record may be acknowledged.

    The caller holds the imageId's lock (`Clients.images`) for the whole call.
    """
    if not is_upload(ref.key):
        return Outcome("ignored", ref.key)
    upload = parse_upload_key(ref.key)
    bucket, key = ref.bucket, ref.key
    for _ in range(MAX_CATCH_UPS):
        try:
            outcome = await _process(ref, upload, job)
        except Superseded as exc:
            # Nothing was written: the newer upload's event (or whoever committed) answers for it.
            logger.info("event superseded by a newer upload", extra={"objectKey": key, "reason": str(exc)})
            return Outcome("superseded", key)
        if outcome.status == "deleted":
            return outcome  # nothing written: an upload newer than the deletion brings its own event
        job.progress.at("checking the upload is still current")
        now = await retry_step(job.deadline, lambda: storage.current_etag(job.clients.s3, bucket, key))
        if now == outcome.etag or now is None:
            # Deleted since: the result stays the last upload's, as true as before (results
            # outlive their source, docs/consistency.md); a new upload brings its own event.
            return outcome
        # The key holds a newer upload than the result left in place. Its own event may already
        # have been acknowledged, as a duplicate of a manifest this run (or a stale one) replaced
        # since: so this run brings the results up to date before it may be acknowledged.
        logger.info("catching up with a newer upload", extra={"objectKey": key, "etag": now})
        ref = replace(ref, etag=now, version_id=None)
    raise RetryableError(f"s3://{ref.bucket}/{ref.key} kept changing during {MAX_CATCH_UPS} attempts")


async def _process(ref: ObjectRef, upload: UploadKey, job: Job) -> Outcome:
    job.progress.at("reading the manifest")
    stored = await read_stored(job, upload.image_id)
    if stored.manifest is not None and (early := await _answer(stored.manifest, ref, upload, job)):
        return early  # decided by the manifest, whatever the source is now
    timings: dict[str, float] = {}
    started = time.perf_counter()
    job.progress.at("reading the source")
    source = await retry_step(
        job.deadline,
        lambda: storage.read_source(job.clients.s3, ref.bucket, ref.key, ref.etag, job.settings.max_bytes),
    )
    timings["fetch"] = _ms(started)
    rendered = await admitted_render(source.data, job)
    spent = rendered.result.timings_ms
    timings.update({"render": spent["total"], "probe": spent["probe"]})
    render_id = new_render_id()
    variants = variant_records(rendered, upload, render_id, job)
    started = time.perf_counter()
    await write_variants(rendered.result, variants, source, job)
    timings["upload"] = _ms(started)
    manifest = complete_manifest(ref, upload, source, rendered, variants, render_id, timings, job)
    committed = await commit_or_discard(manifest, stored, ref, job)
    if not committed.written:
        return _deleted(ref) if committed.kept and committed.kept.deleted else _duplicate(ref, committed.kept)
    record_metrics(timings, variants)
    logger.info("image processed", extra={"objectKey": ref.key, "timingsMs": timings})
    await remove_replaced(manifest, committed.replaced, job)
    return Outcome("processed", ref.key, manifest.source.etag, manifest)


async def _answer(manifest: Manifest, ref: ObjectRef, upload: UploadKey, job: Job) -> Outcome | None:
    # A tombstone first: the owner deleted the image, so no other rule applies to what it covers
    # (its source key may be the other key of the imageId). Read before the key is looked at.
    if manifest.deleted:
        return _deleted(ref) if deletion_covers(manifest, ref, await read_head(job, ref)) else None
    _check_owner(manifest, ref, upload)
    return _duplicate(ref, manifest) if answered(manifest, ref, job) else None


def _deleted(ref: ObjectRef) -> Outcome:
    logger.info("the image was deleted by its owner", extra={"objectKey": ref.key})
    metrics.add_metric(name="DeletedSkipped", unit=MetricUnit.Count, value=1)
    return Outcome("deleted", ref.key)


def _duplicate(ref: ObjectRef, existing: Manifest | None) -> Outcome:
    metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
    return Outcome("duplicate", ref.key, existing.source.etag if existing else None)


def _check_owner(existing: Manifest | None, ref: ObjectRef, upload: UploadKey) -> None:
    if existing is not None and existing.source.key != ref.key:
        raise ImageIdConflict(f"imageId {upload.image_id!r} already belongs to {existing.source.key!r}")


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
