"""What happens to an upload that can never succeed: quarantine it, with its reason, and say so.

The DLQ message carries the original SQS body unchanged, so a redrive re-injects exactly what
arrived, and the reason in `imgpipe-*` attributes (`worker.dlq_message`). A `failed` manifest
records the failure where the results would have been (`worker.failure_record`), in the success
path's order, so it never replaces a newer upload's result, another key's, or a complete result
of the same upload. A failure that the manifest already answers (`worker.answers.answered`) is
acknowledged as a duplicate: nothing written, no second DLQ message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools.metrics import single_metric
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.errors import PermanentError, RetryableError
from shared.manifest import Manifest
from shared.observability import SERVICE, MetricUnit, logger, metrics
from worker import storage
from worker.announce import announce
from worker.commit import remove_replaced
from worker.deadline import retry_step
from worker.dlq_message import dlq_attributes
from worker.events import ObjectRef
from worker.failure_record import Recorded, record_failure
from worker.job import Job


@dataclass(frozen=True)
class Quarantine:
    """How a permanent failure ended: quarantined, or answered by a result already in place.

    `newer` is the ETag of a newer upload the key holds once the failed manifest is in place (it
    may have been acknowledged as a duplicate of the manifest this one replaced, so the caller
    catches up with it before the record counts as handled).
    """

    status: Literal["quarantined", "duplicate", "deleted"]
    newer: str | None = None


async def quarantine(record: SQSRecord, error: PermanentError, ref: ObjectRef | None, job: Job) -> Quarantine:
    """Record the failure, then move the message to the DLQ; the record then counts as handled.

    A complete result of the same upload and configuration, this same failure recorded by
    another delivery, or the owner's deletion of the image, already answers the record: then
    nothing is written and nothing sent.
    """
    recorded = await record_failure(ref, error, job) if ref is not None else Recorded()
    if recorded.answered:
        return _answered(recorded, ref)
    dlq = job.settings.dlq_url
    if dlq is None:
        # Without a DLQ the queue's own redrive policy is the only safe place left.
        raise RetryableError(f"permanent failure but IMGPIPE_DLQ_URL is not set: {error}") from error
    attributes = dlq_attributes(record, error, ref, recorded.head)
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


def _answered(recorded: Recorded, ref: ObjectRef | None) -> Quarantine:
    key = ref.key if ref else None
    if recorded.deleted:
        logger.info("failure of an upload its owner deleted", extra={"objectKey": key})
        metrics.add_metric(name="DeletedSkipped", unit=MetricUnit.Count, value=1)
        return Quarantine("deleted")
    logger.info("failure answered by the manifest in place", extra={"objectKey": key})
    metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
    return Quarantine("duplicate")


async def _newer_upload(
    ref: ObjectRef | None, failed: tuple[Manifest, Manifest | None] | None, job: Job
) -> str | None:
    if ref is None or failed is None:
        return None
    now = await retry_step(job.deadline, lambda: storage.current_etag(job.clients.s3, ref.bucket, ref.key))
    return now if now is not None and now != failed[0].source.etag else None
