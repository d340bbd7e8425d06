"""The manifest: written last, so its presence with status `complete` means every variant is in place.

Its source ETag/version and config hash are what make a repeated event a duplicate: the worker
never keys on the SQS messageId, which a redrive changes. It is the pointer that commits one
render: variants live under keys of their own render (`pipeline.renderId`), never overwritten.

A deletion replaces it with a tombstone (`status: deleted`, `build_tombstone`): the same pointer,
now saying the owner deleted the image at `deletedAt`, so no late event, duplicate, redrive or
reprocess of an upload it covers can bring the image back (docs/consistency.md, "Deletion").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.variants import PIPELINE_VERSION


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class SourceRecord(_Model):
    """The upload the manifest describes."""

    bucket: str
    key: str
    version_id: str | None = Field(default=None, alias="versionId")
    etag: str | None = None
    bytes: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    original_filename: str | None = Field(default=None, alias="originalFilename")


class VariantRecord(_Model):
    """One written variant."""

    name: str
    key: str
    format: str
    width: int
    height: int
    bytes: int
    sha256: str


class PlaceholderRecord(_Model):
    """What a page paints before any variant loads (complete manifests only): a ThumbHash of the
    picture (standard base64; evanw.github.io/thumbhash) and its mean colour (`#rrggbb`, the
    alpha-weighted mean of sRGB values), both from `width` x `height` pixels (at most 100x100)
    of its smallest variant that shows the whole picture."""

    thumbhash: str
    color: str
    width: int
    height: int


class ErrorRecord(_Model):
    """Why a `failed` manifest failed, and which SQS message's quarantine wrote it."""

    type: str
    message: str
    # That delivery either sent its DLQ message or is delivered again (it may have died between
    # this manifest and the send): only another delivery may take this failure as its answer.
    message_id: str | None = Field(default=None, alias="messageId")


class DeletedUpload(_Model):
    """One upload (one version of it, in a versioned bucket) that a deletion found and removed."""

    key: str
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="versionId")


class PipelineRecord(_Model):
    """Which code, configuration and run produced the results."""

    version: str = PIPELINE_VERSION
    config_hash: str = Field(alias="configHash")
    # The run that wrote this manifest; for a complete one also the key segment of its variants.
    # A run recognises its own commit by it (a retried write whose first attempt landed).
    render_id: str | None = Field(default=None, alias="renderId")
    # What besides the configuration decides whether bytes can be rendered: the decoders'
    # versions, the worker's code and its limits. A failure recorded under another engine is
    # decided again (`worker.answers.answered`).
    engine_hash: str | None = Field(default=None, alias="engineHash")


class Manifest(_Model):
    """`metadata/{imageId}/processing-info.json`."""

    schema_: Literal[1] = Field(default=1, alias="schema")
    status: Literal["complete", "failed", "deleted"]
    image_id: str = Field(alias="imageId")
    user_id: str = Field(alias="userId")
    source: SourceRecord
    variants: tuple[VariantRecord, ...] = ()
    error: ErrorRecord | None = None
    pipeline: PipelineRecord
    timings_ms: dict[str, float] = Field(default_factory=dict, alias="timingsMs")
    # Decoder warnings that did not stop the render (e.g. bytes between JPEG segments, dropped).
    warnings: tuple[str, ...] | None = None
    # Absent from failures, tombstones and manifests written before the worker made one.
    placeholder: PlaceholderRecord | None = None
    processed_at: str = Field(default_factory=lambda: now_iso(), alias="processedAt")
    # A tombstone's: when its owner deleted the image, and the uploads the deletion found then.
    deleted_at: str | None = Field(default=None, alias="deletedAt")
    deleted_uploads: tuple[DeletedUpload, ...] | None = Field(default=None, alias="deletedUploads")

    @property
    def deleted(self) -> bool:
        """True for a tombstone: the owner deleted the image."""
        return self.status == "deleted"

    def deletion_covers(self, last_modified: datetime | None) -> bool:
        """For a tombstone: True when an upload last modified at `last_modified` (None: gone)
        belongs to the deletion, i.e. is not newer than `deletedAt`.

        S3 gives HeadObject's Last-Modified in whole seconds (listings may give milliseconds),
        so both sides compare the whole second: the worker deciding an event and the deletion
        deciding what to remove draw the same line.
        """
        if not self.deleted or self.deleted_at is None:
            return False
        if last_modified is None:
            return True
        return last_modified.replace(microsecond=0) <= parse_time(self.deleted_at)

    def to_json(self) -> bytes:
        """Serialise with the contract's camelCase names."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()

    def covers(self, etag: str | None, version_id: str | None, config_hash: str) -> bool:
        """True when this is a complete result for exactly this source version and configuration."""
        same = self.same_upload(etag, version_id)
        return self.status == "complete" and same and self.pipeline.config_hash == config_hash

    def same_upload(self, etag: str | None, version_id: str | None) -> bool:
        """True when this manifest's source is the upload with this version id or ETag."""
        # S3 gives every upload to an unversioned or versioning-suspended bucket the version id
        # "null", so only a real version id identifies an upload; otherwise the ETag decides.
        real_version = version_id not in (None, "null")
        return (real_version and version_id == self.source.version_id) or (
            etag is not None and normalise_etag(etag) == normalise_etag(self.source.etag)
        )


def build_tombstone(
    *,
    image_id: str,
    user_id: str,
    source: SourceRecord,
    uploads: Sequence[DeletedUpload],
    deleted_at: datetime,
    replaced: Manifest | None,
    deletion_id: str,
) -> Manifest:
    """The tombstone a deletion writes over `replaced` (None: there was no manifest yet).

    `source` is the upload the image had; `deletion_id` goes in `pipeline.renderId`, by which
    the deletion recognises its own write when its answer was lost.
    """
    when = deleted_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    config = replaced.pipeline.config_hash if replaced is not None else ""
    return Manifest(
        status="deleted",
        image_id=image_id,
        user_id=user_id,
        source=source,
        pipeline=PipelineRecord(config_hash=config, render_id=deletion_id),
        processed_at=when,
        deleted_at=when,
        deleted_uploads=tuple(uploads),
    )


def parse_manifest(raw: bytes | str) -> Manifest:
    """A stored manifest (complete, failed or a tombstone); `ValueError` when it is not one."""
    return Manifest.model_validate_json(raw)


def parse_time(text: str) -> datetime:
    """An ISO-8601 time as the manifest writes it (`...Z`), timezone-aware."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def normalise_etag(etag: str | None) -> str | None:
    """S3 events carry ETags bare, API responses quoted; compare them bare."""
    return etag.strip('"') if etag is not None else None


def now_iso() -> str:
    """UTC now, ISO-8601 with milliseconds and a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
