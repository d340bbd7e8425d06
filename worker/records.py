"""The per-record handler the batch processor calls: bounded, deadline-aware, never swallowing.

It returns normally when the record is handled (processed, duplicate, ignored or quarantined)
and raises when SQS should deliver it again; the batch processor turns that raise into a
`batchItemFailures` entry for this record alone.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.errors import InvalidKey, MalformedEvent, PermanentError, RetryableError
from shared.keys import is_upload, parse_upload_key
from shared.observability import MetricUnit, logger, metrics
from worker.announce import announce
from worker.deadline import Deadline
from worker.events import ObjectRef, parse_body
from worker.failures import quarantine
from worker.job import Delivery, Job, is_redrive
from worker.pipeline import MAX_CATCH_UPS, process_object
from worker.runtime import Runtime, get_runtime


async def handle_record(
    record: SQSRecord, lambda_context: LambdaContext | None = None, runtime: Runtime | None = None
) -> str:
    """Handle one SQS record; raise to have it retried. `runtime` defaults to the process's own."""
    metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=1)
    try:
        return await _admitted(record, lambda_context, runtime or get_runtime())
    except RetryableError as exc:
        logger.warning("record left for retry", extra={"messageId": record.message_id, "reason": str(exc)})
        raise
    except Exception:
        logger.exception("record failed unexpectedly; left for retry", extra={"messageId": record.message_id})
        raise


async def _admitted(record: SQSRecord, lambda_context: LambdaContext | None, runtime: Runtime) -> str:
    clients = await runtime.aws.get()
    try:
        refs, malformed = parse_body(record.body), None
    except MalformedEvent as exc:
        refs, malformed = [], exc
    async with clients.slots.slot(priority=sum(ref.size or 0 for ref in refs)):
        deadline = Deadline.from_context(lambda_context)
        budget = runtime.settings.record_budget_ms / 1000
        if not deadline.allows(budget):
            metrics.add_metric(name="RecordsNotStarted", unit=MetricUnit.Count, value=1)
            raise RetryableError(
                f"not started: {deadline.remaining_s():.1f}s left, a record may need {budget:.1f}s"
            )
        delivery = Delivery(record.message_id, is_redrive(record.raw_event.get("messageAttributes") or {}))
        job = Job(runtime.settings, runtime.config_hash, clients, runtime.executor, deadline, delivery)
        try:
            async with asyncio.timeout(deadline.remaining_s()):
                if malformed is not None:
                    await quarantine(record, malformed, None, job)
                    return "quarantined"
                return await _handle(record, refs, job)
        except TimeoutError as exc:
            if job.progress.settled >= max(1, len(refs)):
                # Committed (or quarantined) already; only best-effort follow-ups were cut short.
                logger.warning("deadline after the outcome was stored", extra={"step": job.progress.step})
                return "settled"
            raise RetryableError(
                f"stopped at the invocation deadline while {job.progress.step}; left for redelivery"
            ) from exc


async def _handle(record: SQSRecord, refs: list[ObjectRef], job: Job) -> str:
    statuses: list[str] = []
    for ref in refs:
        # Work on one imageId, success or quarantine, runs one record at a time, so the second
        # sees the first's manifest (a duplicate, or another user's image) before doing anything.
        async with _image_lock(ref, job):
            statuses.append(await _settle(record, ref, job))
    summary = ",".join(statuses) or "ignored"
    logger.debug("record handled", extra={"messageId": record.message_id, "outcome": summary})
    return summary


async def _settle(record: SQSRecord, ref: ObjectRef, job: Job) -> str:
    for _ in range(MAX_CATCH_UPS):
        try:
            outcome = await process_object(ref, job)
        except PermanentError as exc:
            quarantined = await quarantine(record, exc, ref, job)
            if quarantined.newer is None:
                return quarantined.status
            # The failed manifest replaced what a newer upload was acknowledged against: catch up.
            ref = replace(ref, etag=quarantined.newer, version_id=None)
            continue
        job.progress.settle()  # durable: what follows is best effort
        if outcome.manifest is not None:
            await announce(job, "ImageProcessed", outcome.manifest)
        return outcome.status
    raise RetryableError(f"s3://{ref.bucket}/{ref.key} kept changing during {MAX_CATCH_UPS} attempts")


def _image_lock(ref: ObjectRef, job: Job) -> AbstractAsyncContextManager[None]:
    try:
        image_id = parse_upload_key(ref.key).image_id if is_upload(ref.key) else None
    except InvalidKey:
        image_id = None
    return job.clients.images.hold(image_id) if image_id else nullcontext()
