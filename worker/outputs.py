"""What one render leaves in the output bucket: its variants under keys of its own render, then
the manifest that commits them, and nothing behind when the commit goes to another run.

Variants are written before the commit and no manifest can list them until it lands, so a
render whose writes fail, or whose commit loses (to another run, or to the owner's deletion),
deletes what it wrote (`worker.commit` holds
the commit itself and who may delete what).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from shared.errors import PermanentError, Superseded
from shared.keys import UploadKey, variant_key
from shared.manifest import Manifest, PipelineRecord, PlaceholderRecord, SourceRecord, VariantRecord
from shared.observability import MetricUnit, metrics
from worker import engine, storage
from worker.commit import Commit, commit, remove_variants
from worker.deadline import retry_step
from worker.events import ObjectRef
from worker.job import Job, engine_hash
from worker.rendering import Rendered


def variant_records(rendered: Rendered, upload: UploadKey, render_id: str, job: Job) -> list[VariantRecord]:
    """One record per rendered variant, keyed under this render, with its sha256."""
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


async def write_variants(
    result: engine.RenderResult, records: list[VariantRecord], source: storage.Source, job: Job
) -> None:
    """PUT every variant; if any fails, delete what landed (no manifest can list it) and raise."""
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


def complete_manifest(
    ref: ObjectRef,
    upload: UploadKey,
    source: storage.Source,
    rendered: Rendered,
    variants: list[VariantRecord],
    render_id: str,
    timings: dict[str, float],
    job: Job,
) -> Manifest:
    """The manifest that commits this render of `ref`."""
    return Manifest(
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
        placeholder=_placeholder(rendered.result.placeholder),
    )


async def commit_or_discard(
    manifest: Manifest, stored: storage.StoredManifest, ref: ObjectRef, job: Job
) -> Commit:
    """Commit `manifest`; when another run's manifest is the result, delete this render."""
    own = [variant.key for variant in manifest.variants]
    try:
        committed = await commit(manifest, stored, ref, job)
    except (PermanentError, Superseded):
        # Another run's manifest is the image's result now; it cannot list this render's keys.
        await remove_variants(own, job, "lost the commit")
        raise
    if not committed.written:
        deleted = committed.kept is not None and committed.kept.deleted
        await remove_variants(
            own, job, "the image was deleted" if deleted else "an equal result was committed first"
        )
    return committed


def record_metrics(timings: dict[str, float], variants: list[VariantRecord]) -> None:
    """Count a processed image, its variants, bytes and each stage's time."""
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="VariantsWritten", unit=MetricUnit.Count, value=len(variants))
    metrics.add_metric(name="BytesWritten", unit=MetricUnit.Bytes, value=sum(v.bytes for v in variants))
    for stage, ms in timings.items():
        metrics.add_metric(name=f"{stage.capitalize()}Ms", unit=MetricUnit.Milliseconds, value=ms)


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


def _placeholder(hint: engine.Placeholder | None) -> PlaceholderRecord | None:
    if hint is None:
        return None
    return PlaceholderRecord(thumbhash=hint.thumbhash, color=hint.color, width=hint.width, height=hint.height)
