"""What a stored manifest answers, and what a failed manifest may replace: the rules every
writer applies to the manifest it read, before it looks at the source or writes. A tombstone
answers every delivery of an upload its deletion covers (`deletion_covers`).

Pure decisions over what was read (no S3 here): `worker.pipeline` and `worker.failure_record`
ask them first, `worker.commit` again after a refused write. See docs/consistency.md ("Decide
from the manifest first", "What a failed manifest answers", "The quarantine's order").
"""

from __future__ import annotations

from collections.abc import Collection

from shared.manifest import Manifest, normalise_etag
from shared.variants import PIPELINE_VERSION
from worker import storage
from worker.events import ObjectRef
from worker.job import Job, engine_hash

# Failures its bytes decide: the same bytes fail the same way under the same engine and limits.
# Not SourceMissing: the same bytes uploaded again (the same ETag) must be processed.
FILE_FAILURES = frozenset({"CorruptImage", "UnsupportedFormat", "ImageTooLarge"})


def answered(manifest: Manifest, ref: ObjectRef, job: Job) -> bool:
    """True when the stored `manifest` answers this delivery before any image work: a complete
    result of its upload and configuration (a redrive too, whatever the source is now), or the
    file's own failure recorded by another delivery under the same configuration and engine."""
    return complete_for(manifest, ref, job.config_hash) or repeats_failure(manifest, ref, job, FILE_FAILURES)


def complete_for(manifest: Manifest, ref: ObjectRef, config_hash: str) -> bool:
    """True when `manifest` is a complete result of this key's upload under this configuration."""
    return manifest.source.key == ref.key and manifest.covers(ref.etag, ref.version_id, config_hash)


def repeats_failure(manifest: Manifest, ref: ObjectRef, job: Job, types: Collection[str]) -> bool:
    """True when `manifest` records a failure of one of `types` that answers this delivery: not a
    redrive, not the delivery that wrote it (it may have died before its DLQ send), the same
    upload, configuration and engine (docs/consistency.md, "What a failed manifest answers")."""
    error, delivery, pipeline = manifest.error, job.delivery, manifest.pipeline
    if manifest.status != "failed" or error is None or error.type not in types or delivery.redriven:
        return False
    unchanged = (pipeline.version, pipeline.config_hash, pipeline.engine_hash) == (
        PIPELINE_VERSION,
        job.config_hash,
        engine_hash(job.settings),
    )
    same_upload = manifest.source.key == ref.key and manifest.same_upload(ref.etag, ref.version_id)
    return unchanged and same_upload and error.message_id != delivery.message_id


def failure_may_replace(failed: Manifest, other: Manifest | None, current: str | None) -> bool:
    """Whether the failed manifest `failed` may replace `other`, the manifest read before the key
    was seen to hold `current` (its ETag then; None once deleted).

    Only the failure of the key's current upload replaces a result: any other upload's result
    read before `current` was seen is of an upload at least as new. When the key holds nothing,
    which upload was newer cannot be told, so only this upload's own failure (or nothing) is
    replaced, never a complete result: a render outlives its source.
    """
    etag = failed.source.etag
    if etag is None:
        return other is None  # an event without an ETag (S3 always sends one): no upload to compare
    if current is not None:
        return current == etag  # else a newer upload's own event decides
    if other is None:
        return True
    same = other.source.key == failed.source.key and other.same_upload(etag, failed.source.version_id)
    return same and other.status == "failed"


def deletion_covers(tombstone: Manifest, ref: ObjectRef, now: storage.Head | None) -> bool:
    """True when the delivery's upload belongs to the deletion `tombstone` records: the key no
    longer holds it (`now` is what HeadObject said after the tombstone was read), or what it
    holds is not newer than `deletedAt`. Then nothing may be rendered or recorded for it.

    Only an upload newer than the deletion (the operator's `imgpipe upload` reusing the key)
    is not covered: it is processed like a first upload and its manifest replaces the tombstone.
    """
    if now is None or (ref.etag is not None and normalise_etag(ref.etag) != now.etag):
        return True  # gone, or replaced: a newer upload brings its own event
    return tombstone.deletion_covers(now.last_modified)
