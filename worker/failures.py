"""What happens to an upload that can never succeed: quarantine it, with its reason, and say so.

The DLQ message carries the original SQS body unchanged, so a redrive re-injects exactly what
arrived, and the reason in `imgpipe-*` attributes. A `failed` manifest records the failure where
the results would have been, in the success path's order (read the manifest, then the key, then
write conditionally), so it never replaces a newer upload's result, another key's, or a complete
result of the same upload. A failure that the manifest already answers (`worker.commit.answered`) is
acknowledged as a duplicate: nothing written, no second DLQ message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.errors import InvalidKey, PermanentError, RetryableError
from shared.keys import is_upload, new_render_id, parse_upload_key
from shared.manifest import ErrorRecord, Manifest, PipelineRecord, SourceRecord, normalise_etag, now_iso
from shared.observability import SERVICE, MetricUnit, logger, metrics
from worker import storage
from worker.announce import announce
from worker.commit import (
    commit,
    complete_for,
    failure_may_replace,
    read_stored,
    remove_replaced,
    repeats_failure,
)
from worker.deadline import retry_step
from worker.events import ObjectRef
from worker.job import REDRIVE_COUNT, Job, engine_hash

MAX_REASON = 1000
# Characters SQS accepts in a String attribute; anything else (control characters from a
# hostile key, say) would make SendMessage fail and the quarantine with it.
_NOT_SQS_TEXT = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def attribute_text(value: str) -> str:
    """`value` with every character SQS refuses in attributes replaced by U+FFFD."""
    return _NOT_SQS_TEXT.sub("\ufffd", value)


@dataclass(frozen=True)
class Quarantine:
    """How a permanent failure ended: quarantined, or answered by a result already in place.

    `newer` is the ETag of a newer upload the key holds once the failed manifest is in place (it
    may have been acknowledged as a duplicate of the manifest this one replaced, so the caller
    catches up with it before the record counts as handled).
    """

    status: Literal["quarantined", "duplicate"]
    newer: str | None = None


@dataclass(frozen=True)
class _Recorded:
    """What recording the failure found: an answer in place already, the key's upload now, and
    the failed manifest written with the one it replaced."""

    answered: bool = False
    head: storage.Head | None = None
    failed: tuple[Manifest, Manifest | None] | None = None


async def quarantine(record: SQSRecord, error: PermanentError, ref: ObjectRef | None, job: Job) -> Quarantine:
    """Record the failure, then move the message to the DLQ; the record then counts as handled.

    A complete result of the same upload and configuration, or this same failure recorded by
    another delivery, already answers the record: then nothing is written and nothing sent.
    """
    recorded = await _record(ref, error, job) if ref is not None else _Recorded()
    if recorded.answered:
        logger.info(
            "failure answered by the manifest in place", extra={"objectKey": ref.key if ref else None}
        )
        metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
        return Quarantine("duplicate")
    dlq = job.settings.dlq_url
    if dlq is None:
        # Without a DLQ the queue's own redrive policy is the only safe place left.
        raise RetryableError(f"permanent failure but IMGPIPE_DLQ_URL is not set: {error}") from error
    attributes = _attributes(record, error, ref, recorded.head)
    job.progress.at("sending to the DLQ")
    await retry_step(job.deadline, lambda: storage.send_to_dlq(job.clients.sqs, dlq, record.body, attributes))
    newer = await _newer_upload(ref, recorded.failed, job)
    if newer is None:
        job.progress.settle()  # a redelivery would send a second DLQ message
    with single_metric(
        name="ImagesFailed", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
    ) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name="errorType", value=error.error_type)
    logger.warning(
        "quarantined",
        extra={"objectKey": ref.key if ref else None, "errorType": error.error_type, "reason": str(error)},
    )
    if recorded.failed is not None:
        manifest, replaced = recorded.failed
        await announce(job, "ImageFailed", manifest)
        await remove_replaced(manifest, replaced, job)
    return Quarantine("quarantined", newer)


def _attributes(
    record: SQSRecord, error: PermanentError, ref: ObjectRef | None, head: storage.Head | None
) -> dict[str, str]:
    attributes = {
        "imgpipe-error-type": error.error_type,
        "imgpipe-error-message": str(error)[:MAX_REASON] or error.error_type,
        "imgpipe-failed-at": now_iso(),
        "imgpipe-source-queue": record.event_source_arn or "unknown",
        "imgpipe-receive-count": str(record.attributes.approximate_receive_count or "0"),
    }
    if ref is not None:
        attributes["imgpipe-object-key"] = ref.key
    if head is not None and head.original_filename:
        attributes["imgpipe-original-filename"] = head.original_filename
    if redrives := _string_attribute(record, REDRIVE_COUNT):
        attributes[REDRIVE_COUNT] = redrives  # the redrive's poison-loop guard counts on
    return {name: attribute_text(value) for name, value in attributes.items()}


async def _newer_upload(
    ref: ObjectRef | None, failed: tuple[Manifest, Manifest | None] | None, job: Job
) -> str | None:
    if ref is None or failed is None:
        return None
    now = await retry_step(job.deadline, lambda: storage.current_etag(job.clients.s3, ref.bucket, ref.key))
    return now if now is not None and now != failed[0].source.etag else None


def _string_attribute(record: SQSRecord, name: str) -> str | None:
    value = record.raw_event.get("messageAttributes", {}).get(name) or {}
    text = value.get("stringValue")
    return str(text) if text else None


async def _head(ref: ObjectRef, job: Job) -> storage.Head | None:
    return await retry_step(job.deadline, lambda: storage.head(job.clients.s3, ref.bucket, ref.key))


async def _record(ref: ObjectRef, error: PermanentError, job: Job) -> _Recorded:
    """Commit a `failed` manifest where it may go, in the success path's order: read the manifest
    (its ETag the write's precondition), then look at the key, then write conditionally."""
    if not is_upload(ref.key):
        return _Recorded()
    job.progress.at("recording the failure")
    if isinstance(error, InvalidKey):
        return _Recorded(head=await _head(ref, job))  # no trustworthy imageId, or another key's
    upload = parse_upload_key(ref.key)
    stored = await read_stored(job, upload.image_id)
    if stored.manifest is not None and _answers(stored.manifest, ref, error, job):
        return _Recorded(answered=True)
    head = await _head(ref, job)
    if stored.manifest is not None and stored.manifest.source.key != ref.key:
        return _Recorded(head=head)  # the imageId belongs to another upload: its manifest stays
    failed = _failed_manifest(ref, head, error, job)
    if not failure_may_replace(failed, stored.manifest, head.etag if head is not None else None):
        return _Recorded(head=head)  # a newer upload's own event decides (the DLQ keeps the reason)
    # A write refused because another run wrote meanwhile reads again and decides in this order.
    committed = await commit(failed, stored, ref, job)
    if committed.written:
        return _Recorded(head=head, failed=(failed, committed.replaced))
    kept = committed.kept
    return _Recorded(answered=kept is not None and complete_for(kept, ref, job.config_hash), head=head)


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
