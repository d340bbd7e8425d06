"""One uploaded object to its variants and manifest, as a short list of named steps.

identify the key -> skip if a complete manifest already covers this version and configuration
-> read the source once (only the announced version) -> render every variant off the event loop
-> make sure the upload was not replaced meanwhile -> write all variants concurrently -> write
the manifest last. Transient failures are retried per step; permanent ones propagate to the
record handler, which quarantines them.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
from collections.abc import Awaitable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any, Literal

from shared.errors import ImageIdConflict, RetryableError, Superseded
from shared.keys import UploadKey, is_upload, manifest_key, parse_upload_key, variant_key
from shared.manifest import Manifest, PipelineRecord, SourceRecord, VariantRecord
from shared.observability import MetricUnit, logger, metrics
from shared.settings import Settings
from worker import engine, storage
from worker.aws import Clients
from worker.deadline import Deadline, retry_step
from worker.events import ObjectRef

Status = Literal["processed", "duplicate", "ignored", "superseded"]
MAX_COMMIT_RACES = 3


@dataclass(frozen=True)
class Job:
    """What processing needs, bundled once per invocation."""

    settings: Settings
    config_hash: str
    clients: Clients
    executor: Executor
    deadline: Deadline


@dataclass(frozen=True)
class Outcome:
    """How one object ended, when it did not fail."""

    status: Status
    key: str


class CommitLost(Superseded):
    """Another run wrote the manifest after this one read it, for a different source version."""


async def process_object(ref: ObjectRef, job: Job) -> Outcome:
    """Produce every variant of `ref` and its manifest, or find it already done.

    The caller holds the imageId's lock (`Clients.images`) for the whole call.
    """
    if not is_upload(ref.key):
        return Outcome("ignored", ref.key)
    upload = parse_upload_key(ref.key)
    bucket, key = ref.bucket, ref.key
    rewrite = False
    for _ in range(MAX_COMMIT_RACES):
        try:
            return await _process(ref, upload, job, rewrite)
        except CommitLost as lost:
            # Another run committed first, and our variants may have landed over its own. Whoever
            # loses the commit makes sure the key's *current* upload is what the outputs show.
            current = await retry_step(
                job.deadline, lambda: storage.current_etag(job.clients.s3, bucket, key)
            )
            if current is None:
                return _superseded(ref, lost)
            ref, rewrite = replace(ref, etag=current, version_id=None), True
        except Superseded as exc:
            return _superseded(ref, exc)
    raise RetryableError(
        f"the manifest of {upload.image_id!r} kept changing during {MAX_COMMIT_RACES} attempts"
    )


def _superseded(ref: ObjectRef, reason: Exception) -> Outcome:
    logger.info("event superseded by a newer upload", extra={"objectKey": ref.key, "reason": str(reason)})
    return Outcome("superseded", ref.key)


async def _process(ref: ObjectRef, upload: UploadKey, job: Job, rewrite: bool) -> Outcome:
    s3, bucket = job.clients.s3, job.settings.output_bucket
    stored = await retry_step(job.deadline, lambda: storage.read_manifest(s3, bucket, upload.image_id))
    existing = stored.manifest
    _check_owner(existing, ref, upload)
    if not rewrite and existing is not None and existing.covers(ref.etag, ref.version_id, job.config_hash):
        metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
        return Outcome("duplicate", ref.key)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    source = await retry_step(
        job.deadline,
        lambda: storage.read_source(s3, ref.bucket, ref.key, ref.etag, job.settings.max_bytes),
    )
    timings["fetch"] = _ms(started)
    result = await _render(source.data, job)
    timings.update({"render": result.timings_ms["total"], "probe": result.timings_ms["probe"]})
    await _ensure_current(ref, source, job)
    started = time.perf_counter()
    variants = await retry_step(job.deadline, lambda: _write_variants(result, upload, source, job))
    timings["upload"] = _ms(started)
    manifest = Manifest(
        status="complete",
        image_id=upload.image_id,
        user_id=upload.user_id,
        source=_source_record(ref, source, result.source),
        variants=tuple(variants),
        pipeline=PipelineRecord(config_hash=job.config_hash),
        timings_ms=timings,
    )
    await _commit(manifest, stored, ref, upload, job)
    await announce(job, "ImageProcessed", manifest)
    _record_metrics(timings, variants)
    logger.info("image processed", extra={"objectKey": ref.key, "timingsMs": timings})
    return Outcome("processed", ref.key)


async def _render(data: bytes, job: Job) -> engine.RenderResult:
    loop = asyncio.get_running_loop()
    settings = job.settings
    given_up = threading.Event()
    work = functools.partial(
        engine.render, data, settings.variants, settings.limits, should_stop=given_up.is_set
    )
    try:
        return await loop.run_in_executor(job.executor, work)
    except asyncio.CancelledError:
        # Cut off at the deadline: a render still queued never starts, one running stops at its
        # next variant instead of holding a core (and memory) into the next invocation.
        given_up.set()
        raise


async def _ensure_current(ref: ObjectRef, source: storage.Source, job: Job) -> None:
    # The render took a while; if the key was overwritten since, the newer upload's own event
    # will produce its results, and these must not replace them.
    now = await retry_step(job.deadline, lambda: storage.current_etag(job.clients.s3, ref.bucket, ref.key))
    if now != source.etag:
        raise Superseded(f"s3://{ref.bucket}/{ref.key} changed from {source.etag} to {now} during processing")


async def _write_variants(
    result: engine.RenderResult, upload: UploadKey, source: storage.Source, job: Job
) -> list[VariantRecord]:
    specs = {spec.name: spec for spec in job.settings.variants}
    records = [
        VariantRecord(
            name=r.name,
            key=variant_key(upload, r.name, r.format, watermarked=specs[r.name].watermark is not None),
            format=r.format,
            width=r.width,
            height=r.height,
            bytes=len(r.data),
            sha256=hashlib.sha256(r.data).hexdigest(),
        )
        for r in result.variants
    ]
    metadata = {"source-etag": source.etag or "", "config-hash": job.config_hash}
    s3, settings = job.clients.s3, job.settings
    puts = [
        storage.put_object(
            s3,
            settings.output_bucket,
            rec.key,
            r.data,
            r.content_type,
            settings.cache_control,
            settings.kms_key_id,
            metadata,
        )
        for rec, r in zip(records, result.variants, strict=True)
    ]
    await _all(puts)
    return records


def _check_owner(existing: Manifest | None, ref: ObjectRef, upload: UploadKey) -> None:
    if existing is not None and existing.source.key != ref.key:
        raise ImageIdConflict(f"imageId {upload.image_id!r} already belongs to {existing.source.key!r}")


async def _commit(
    manifest: Manifest, read: storage.StoredManifest, ref: ObjectRef, upload: UploadKey, job: Job
) -> None:
    # Conditional on the manifest read at the start: another invocation that wrote it meanwhile
    # (the same upload twice, a newer upload, or another user's imageId) wins, and this run
    # finds out which instead of overwriting it.
    try:
        await retry_step(job.deadline, lambda: write_manifest(manifest, job, read.precondition))
    except Superseded as exc:
        now = await retry_step(
            job.deadline,
            lambda: storage.read_manifest(job.clients.s3, job.settings.output_bucket, upload.image_id),
        )
        _check_owner(now.manifest, ref, upload)
        if now.manifest is not None and now.manifest.covers(manifest.source.etag, None, job.config_hash):
            return  # the same source and configuration render the same bytes: already done
        raise CommitLost(f"manifest of {upload.image_id!r} was rewritten by another run: {exc}") from exc


async def write_manifest(manifest: Manifest, job: Job, precondition: dict[str, str] | None = None) -> None:
    """Write `metadata/{imageId}/processing-info.json`, optionally only if unchanged since read."""
    settings = job.settings
    await storage.put_object(
        job.clients.s3,
        settings.output_bucket,
        manifest_key(manifest.image_id),
        manifest.to_json(),
        "application/json",
        "no-cache",
        settings.kms_key_id,
        {"config-hash": manifest.pipeline.config_hash},
        precondition,
    )


async def announce(job: Job, event_type: str, manifest: Manifest) -> None:
    """Publish ImageProcessed/ImageFailed when a result topic is configured."""
    topic = job.settings.result_topic_arn
    if topic is None:
        return
    detail = {
        "imageId": manifest.image_id,
        "userId": manifest.user_id,
        "status": manifest.status,
        "manifestKey": manifest_key(manifest.image_id),
        "source": manifest.source.model_dump(by_alias=True, exclude_none=True),
    }
    # Best effort: the results are already in S3, and a missing or misconfigured topic must not
    # hold up (or quarantine) images that were processed correctly.
    try:
        await retry_step(job.deadline, lambda: storage.publish(job.clients.sns, topic, event_type, detail))
    except RetryableError as exc:
        metrics.add_metric(name="AnnounceFailed", unit=MetricUnit.Count, value=1)
        logger.error("result event not published", extra={"imageId": manifest.image_id, "reason": str(exc)})


async def _all(steps: Sequence[Awaitable[Any]]) -> None:
    # Wait for every write before raising, so a retry never races a straggler from this attempt.
    results = await asyncio.gather(*steps, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


def _source_record(ref: ObjectRef, source: storage.Source, info: engine.SourceInfo) -> SourceRecord:
    return SourceRecord(
        bucket=ref.bucket,
        key=ref.key,
        version_id=source.version_id or ref.version_id,
        etag=source.etag,
        bytes=info.bytes,
        format=info.format,
        width=info.width,
        height=info.height,
        orientation=info.orientation,
    )


def _record_metrics(timings: dict[str, float], variants: list[VariantRecord]) -> None:
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="VariantsWritten", unit=MetricUnit.Count, value=len(variants))
    metrics.add_metric(name="BytesWritten", unit=MetricUnit.Bytes, value=sum(v.bytes for v in variants))
    for stage, ms in timings.items():
        metrics.add_metric(name=f"{stage.capitalize()}Ms", unit=MetricUnit.Milliseconds, value=ms)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
