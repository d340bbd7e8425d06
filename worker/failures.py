"""What happens to an upload that can never succeed: quarantine it, with its reason, and say so.

The DLQ message carries the original SQS body unchanged, so a redrive re-injects exactly what
arrived, and the reason in `imgpipe-*` attributes. A `failed` manifest records the failure where
the results would have been, unless a newer upload of the same key has replaced the one that
failed.
"""

from __future__ import annotations

import re

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.errors import InvalidKey, PermanentError, RetryableError
from shared.keys import is_upload, new_render_id, parse_upload_key
from shared.manifest import ErrorRecord, Manifest, PipelineRecord, SourceRecord, normalise_etag, now_iso
from shared.observability import SERVICE, MetricUnit, logger, metrics
from worker import storage
from worker.announce import announce
from worker.commit import commit, read_stored, remove_replaced
from worker.deadline import retry_step
from worker.events import ObjectRef
from worker.job import Job

MAX_REASON = 1000
REDRIVE_COUNT = "imgpipe-redrive-count"
# Characters SQS accepts in a String attribute; anything else (control characters from a
# hostile key, say) would make SendMessage fail and the quarantine with it.
_NOT_SQS_TEXT = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def attribute_text(value: str) -> str:
    """`value` with every character SQS refuses in attributes replaced by U+FFFD."""
    return _NOT_SQS_TEXT.sub("\ufffd", value)


async def quarantine(record: SQSRecord, error: PermanentError, ref: ObjectRef | None, job: Job) -> str | None:
    """Record the failure, then move the message to the DLQ; the record then counts as handled.

    Returns the ETag of a newer upload the key holds once the failed manifest is in place (it
    may have been acknowledged as a duplicate of the manifest this one replaced, so the caller
    catches up with it before the record counts as handled), else None.
    """
    now = await _head(ref, job) if ref is not None else None
    failed = await _failed_manifest(ref, now, error, job) if ref is not None else None
    dlq = job.settings.dlq_url
    if dlq is None:
        # Without a DLQ the queue's own redrive policy is the only safe place left.
        raise RetryableError(f"permanent failure but IMGPIPE_DLQ_URL is not set: {error}") from error
    attributes = {
        "imgpipe-error-type": error.error_type,
        "imgpipe-error-message": str(error)[:MAX_REASON] or error.error_type,
        "imgpipe-failed-at": now_iso(),
        "imgpipe-source-queue": record.event_source_arn or "unknown",
        "imgpipe-receive-count": str(record.attributes.approximate_receive_count or "0"),
    }
    if ref is not None:
        attributes["imgpipe-object-key"] = ref.key
    if now is not None and now.original_filename:
        attributes["imgpipe-original-filename"] = now.original_filename
    if redrives := _string_attribute(record, REDRIVE_COUNT):
        attributes[REDRIVE_COUNT] = redrives  # the redrive's poison-loop guard counts on
    attributes = {name: attribute_text(value) for name, value in attributes.items()}
    job.progress.at("sending to the DLQ")
    await retry_step(job.deadline, lambda: storage.send_to_dlq(job.clients.sqs, dlq, record.body, attributes))
    newer = await _newer_upload(ref, failed, job)
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
    if failed is not None:
        manifest, replaced = failed
        await announce(job, "ImageFailed", manifest)
        await remove_replaced(manifest, replaced, job)
    return newer


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
    if not is_upload(ref.key):
        return None
    job.progress.at("recording the failure")
    return await retry_step(job.deadline, lambda: storage.head(job.clients.s3, ref.bucket, ref.key))


async def _failed_manifest(
    ref: ObjectRef, now: storage.Head | None, error: PermanentError, job: Job
) -> tuple[Manifest, Manifest | None] | None:
    """Commit a `failed` manifest; returns it and the manifest it replaced, or None if not written."""
    if isinstance(error, InvalidKey) or not is_upload(ref.key):
        return None  # no trustworthy imageId, or it belongs to someone else
    current = now.etag if now is not None else None
    if current is not None and ref.etag is not None and current != normalise_etag(ref.etag):
        return None  # a newer upload replaced this one; its own event decides the manifest
    upload = parse_upload_key(ref.key)
    stored = await read_stored(job, upload.image_id)
    if stored.manifest is not None and stored.manifest.source.key != ref.key:
        return None  # the imageId belongs to another upload: its manifest stays
    manifest = Manifest(
        status="failed",
        image_id=upload.image_id,
        user_id=upload.user_id,
        source=SourceRecord(
            bucket=ref.bucket,
            key=ref.key,
            version_id=ref.version_id,
            etag=normalise_etag(ref.etag),
            bytes=ref.size,
            original_filename=now.original_filename if now is not None else None,
        ),
        error=ErrorRecord(type=error.error_type, message=str(error)[:MAX_REASON]),
        pipeline=PipelineRecord(config_hash=job.config_hash, render_id=new_render_id()),
    )
    # A run that loses the write to another run's reads again: it still writes over an older
    # upload's result, never over another key's or a newer upload's (the DLQ keeps the reason).
    committed = await commit(manifest, stored, ref, job)
    return (manifest, committed.replaced) if committed.written else None
