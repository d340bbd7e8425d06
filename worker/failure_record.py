"""Recording a permanent failure in the `failed` manifest, where the results would have been.

In the success path's order (read the manifest, then look at the key, then write
conditionally), so a failed manifest never replaces a newer upload's result, another key's, or a
complete result of the same upload; a failure the manifest already answers (a complete result of
the upload, or this same failure recorded by another delivery) writes nothing. Nor does the
failure of an upload the owner's deletion covers: a tombstone is replaced only by the result of
a newer upload. See docs/consistency.md, "The quarantine's order" and "Deletion".
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import InvalidKey, PermanentError
from shared.keys import is_upload, new_render_id, parse_upload_key
from shared.manifest import ErrorRecord, Manifest, PipelineRecord, SourceRecord, normalise_etag
from worker import storage
from worker.answers import complete_for, deletion_covers, failure_may_replace, repeats_failure
from worker.commit import commit, read_head, read_stored
from worker.dlq_message import MAX_REASON
from worker.events import ObjectRef
from worker.job import Job, engine_hash


@dataclass(frozen=True)
class Recorded:
    """What recording the failure found: an answer in place already, the key's upload now, and
    the failed manifest written with the one it replaced."""

    answered: bool = False
    deleted: bool = False  # the answer is the owner's deletion
    head: storage.Head | None = None
    failed: tuple[Manifest, Manifest | None] | None = None


async def record_failure(ref: ObjectRef, error: PermanentError, job: Job) -> Recorded:
    """Commit a `failed` manifest where it may go, in the success path's order: read the manifest
    (its ETag the write's precondition), then look at the key, then write conditionally."""
    if not is_upload(ref.key):
        return Recorded()
    job.progress.at("recording the failure")
    if isinstance(error, InvalidKey):
        return Recorded(head=await read_head(job, ref))  # no trustworthy imageId, or another key's
    upload = parse_upload_key(ref.key)
    stored = await read_stored(job, upload.image_id)
    manifest = stored.manifest
    if manifest is not None and not manifest.deleted and _answers(manifest, ref, error, job):
        return Recorded(answered=True)
    now = await read_head(job, ref)  # after the manifest was read, as every writer looks
    if manifest is not None and manifest.deleted and deletion_covers(manifest, ref, now):
        return Recorded(answered=True, deleted=True)  # the owner deleted it: nothing to record
    if manifest is not None and not manifest.deleted and manifest.source.key != ref.key:
        return Recorded(head=now)  # the imageId belongs to another upload: its manifest stays
    failed = _failed_manifest(ref, now, error, job)
    if not failure_may_replace(failed, stored.manifest, now.etag if now is not None else None):
        return Recorded(head=now)  # a newer upload's own event decides (the DLQ keeps the reason)
    # A write refused because another run wrote meanwhile reads again and decides in this order.
    committed = await commit(failed, stored, ref, job)
    if committed.written:
        return Recorded(head=now, failed=(failed, committed.replaced))
    kept = committed.kept
    if kept is not None and kept.deleted:
        return Recorded(answered=True, deleted=True)  # the owner's deletion won the race
    return Recorded(answered=kept is not None and complete_for(kept, ref, job.config_hash), head=now)


def _answers(manifest: Manifest, ref: ObjectRef, error: PermanentError, job: Job) -> bool:
    # A complete result of this upload was committed while this run failed (SourceMissing after
    # the original's deletion, a smaller memory budget): it stays, and it is the answer. Or this
    # very failure was recorded by another delivery, whose DLQ message is the one.
    return complete_for(manifest, ref, job.config_hash) or repeats_failure(
        manifest, ref, job, {error.error_type}
    )


def _failed_manifest(ref: ObjectRef, head: storage.Head | None, error: PermanentError, job: Job) -> Manifest:
    upload = parse_upload_key(ref.key)
    return Manifest(
        status="failed",
        image_id=upload.image_id,
        user_id=upload.user_id,
        source=SourceRecord(
            bucket=ref.bucket,
            key=ref.key,
            version_id=ref.version_id,
            etag=normalise_etag(ref.etag),
            bytes=ref.size,
            original_filename=head.original_filename if head is not None else None,
        ),
        error=ErrorRecord(
            type=error.error_type, message=str(error)[:MAX_REASON], message_id=job.delivery.message_id
        ),
        pipeline=PipelineRecord(
            config_hash=job.config_hash, render_id=new_render_id(), engine_hash=engine_hash(job.settings)
        ),
    )
