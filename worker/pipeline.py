"""One uploaded object to its variants and manifest, as a short list of named steps.

identify the key -> skip if the manifest already answers this delivery (a complete result of
this version and configuration, or the file's own failure: `worker.commit.answered`) -> read the
source once (only the announced version) -> render every variant and its sha256 off the event
loop, once the memory budget admits it -> write all variants under keys of this render -> commit
the manifest (`worker.commit`) -> remove the render it replaced -> check the key does not hold a
newer upload than the manifest describes, and catch up with it if so. Transient failures are
retried per step; permanent ones propagate to the record handler, which quarantines them.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from shared.errors import (
    ImageIdConflict,
    ImageTooLarge,
    PermanentError,
    RetryableError,
    Superseded,
)
from shared.keys import UploadKey, is_upload, new_render_id, parse_upload_key, variant_key
from shared.manifest import Manifest, PipelineRecord, SourceRecord, VariantRecord
from shared.observability import MetricUnit, logger, metrics
from shared.variants import VariantSpec
from worker import engine, storage
from worker.commit import Commit, answered, commit, read_stored, remove_replaced, remove_variants
from worker.deadline import retry_step
from worker.events import ObjectRef
from worker.gate import memory_gate
from worker.job import Job, engine_hash

Status = Literal["processed", "duplicate", "ignored", "superseded"]
MAX_CATCH_UPS = 3


@dataclass(frozen=True)
class Outcome:
    """How one object ended, when it did not fail; `etag` is the upload the manifest describes."""

    status: Status
    key: str
    etag: str | None = None
    manifest: Manifest | None = None  # the manifest this run committed, to announce


@dataclass(frozen=True)
class Rendered:
    """The engine's result and each variant's sha256, both computed off the event loop."""

    result: engine.RenderResult
    digests: tuple[str, ...]


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
    _check_owner(stored.manifest, ref, upload)
    if stored.manifest is not None and answered(stored.manifest, ref, job):
        return _duplicate(ref, stored.manifest)  # decided by the manifest, whatever the source is now
    timings: dict[str, float] = {}
    started = time.perf_counter()
    job.progress.at("reading the source")
    source = await retry_step(
        job.deadline,
        lambda: storage.read_source(job.clients.s3, ref.bucket, ref.key, ref.etag, job.settings.max_bytes),
    )
    timings["fetch"] = _ms(started)
    rendered = await _admitted_render(source.data, job)
    spent = rendered.result.timings_ms
    timings.update({"render": spent["total"], "probe": spent["probe"]})
    render_id = new_render_id()
    variants = _variant_records(rendered, upload, render_id, job)
    started = time.perf_counter()
    await _write_variants(rendered.result, variants, source, job)
    timings["upload"] = _ms(started)
    manifest = Manifest(
        status="complete",
        image_id=upload.image_id,
        user_id=upload.user_id,
        source=_source_record(ref, source, rendered.result.source),
        variants=tuple(variants),
        pipeline=PipelineRecord(
            config_hash=job.config_hash, render_id=render_id, engine_hash=engine_hash(job.settings)
        ),
        timings_ms=timings,
        warnings=rendered.result.warnings or None,
    )
    committed = await _commit_or_discard(manifest, stored, ref, job)
    if not committed.written:
        return _duplicate(ref, committed.kept)
    _record_metrics(timings, variants)
    logger.info("image processed", extra={"objectKey": ref.key, "timingsMs": timings})
    await remove_replaced(manifest, committed.replaced, job)
    return Outcome("processed", ref.key, manifest.source.etag, manifest)


def _duplicate(ref: ObjectRef, existing: Manifest | None) -> Outcome:
    metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
    return Outcome("duplicate", ref.key, existing.source.etag if existing else None)


def _render_and_digest(
    upload: engine.Probed, specs: tuple[VariantSpec, ...], should_stop: Callable[[], bool]
) -> Rendered:
    result = engine.render(upload, specs, should_stop=should_stop)
    return Rendered(result, tuple(hashlib.sha256(v.data).hexdigest() for v in result.variants))


async def _admitted_render(data: bytes, job: Job) -> Rendered:
    # The header alone says how much memory the decode needs (milliseconds, on the loop); the
    # render waits until that fits beside what other records hold, or is refused if it never can.
    settings = job.settings
    upload = engine.open_upload(data, settings.limits)
    need = engine.estimate_memory(upload.info, settings.variants)
    budget = settings.memory_budget_bytes
    if need > budget:
        raise ImageTooLarge(
            f"decoding needs about {need / 2**20:,.0f} MiB, over the worker's memory budget of"
            f" {budget / 2**20:,.0f} MiB (IMGPIPE_MEMORY_BUDGET_MB, else the function's memory)"
        )
    job.progress.at("waiting for memory")
    gate = memory_gate(budget)
    await gate.acquire(need)
    job.progress.at("rendering")
    return await _render(upload, job, functools.partial(gate.release, need))


async def _render(upload: engine.Probed, job: Job, release: Callable[[], None]) -> Rendered:
    given_up = threading.Event()
    work = functools.partial(_render_and_digest, upload, job.settings.variants, given_up.is_set)
    try:
        running = job.executor.submit(work)
    except BaseException:
        release()
        raise
    # The memory is the render thread's until it returns, whoever stops waiting for it: a
    # deadline cancels this coroutine, never the thread, which still holds its decode buffers.
    running.add_done_callback(lambda _: release())
    try:
        return await asyncio.wrap_future(running)
    except asyncio.CancelledError:
        # Cut off at the deadline: a render still queued never starts, one running stops at its
        # next variant instead of holding a core (and memory) into the next invocation.
        given_up.set()
        raise


def _variant_records(rendered: Rendered, upload: UploadKey, render_id: str, job: Job) -> list[VariantRecord]:
    specs = {spec.name: spec for spec in job.settings.variants}
    return [
        VariantRecord(
            name=r.name,
            key=variant_key(
                upload, render_id, r.name, r.format, watermarked=specs[r.name].watermark is not None
            ),
            format=r.format,
            width=r.width,
            height=r.height,
            bytes=len(r.data),
            sha256=digest,
        )
        for r, digest in zip(rendered.result.variants, rendered.digests, strict=True)
    ]


async def _write_variants(
    result: engine.RenderResult, records: list[VariantRecord], source: storage.Source, job: Job
) -> None:
    # Each PUT is retried on its own: one SlowDown re-sends one variant, not the whole set.
    job.progress.at("writing variants")
    metadata = {"source-etag": source.etag or "", "config-hash": job.config_hash}
    s3, settings = job.clients.s3, job.settings

    def put(rec: VariantRecord, data: bytes, content_type: str) -> Awaitable[None]:
        return retry_step(
            job.deadline,
            lambda: storage.put_object(
                s3,
                settings.output_bucket,
                rec.key,
                data,
                content_type,
                settings.cache_control,
                settings.kms_key_id,
                metadata,
                sha256_hex=rec.sha256,
            ),
        )

    puts = [put(rec, r.data, r.content_type) for rec, r in zip(records, result.variants, strict=True)]
    try:
        await _all(puts)
    except Exception:
        # No manifest can list this render's keys yet, so what did land is garbage: remove it.
        await remove_variants([rec.key for rec in records], job, "unfinished render")
        raise


async def _commit_or_discard(
    manifest: Manifest, stored: storage.StoredManifest, ref: ObjectRef, job: Job
) -> Commit:
    own = [variant.key for variant in manifest.variants]
    try:
        committed = await commit(manifest, stored, ref, job)
    except (PermanentError, Superseded):
        # Another run's manifest is the image's result now; it cannot list this render's keys.
        await remove_variants(own, job, "lost the commit")
        raise
    if not committed.written:
        await remove_variants(own, job, "an equal result was committed first")
    return committed


def _check_owner(existing: Manifest | None, ref: ObjectRef, upload: UploadKey) -> None:
    if existing is not None and existing.source.key != ref.key:
        raise ImageIdConflict(f"imageId {upload.image_id!r} already belongs to {existing.source.key!r}")


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
        original_filename=source.original_filename,
    )


def _record_metrics(timings: dict[str, float], variants: list[VariantRecord]) -> None:
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="VariantsWritten", unit=MetricUnit.Count, value=len(variants))
    metrics.add_metric(name="BytesWritten", unit=MetricUnit.Bytes, value=sum(v.bytes for v in variants))
    for stage, ms in timings.items():
        metrics.add_metric(name=f"{stage.capitalize()}Ms", unit=MetricUnit.Milliseconds, value=ms)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
