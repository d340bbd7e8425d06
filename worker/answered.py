"""When the stored manifest already answers a delivery: no image work, no second DLQ message.

S3, SNS and SQS deliver at least once, so the same upload's event arrives more than once. The
manifest decides, first, before anything else is read:

- a complete manifest of the same key, upload and configuration answers every delivery of that
  upload, a redrive too, whether or not the source still exists (results outlive their source);
- a failed manifest answers a plain copy of the event when the failure is the file's own
  (`FILE_FAILURES`, decided by its bytes) and nothing that decided it has changed: the same
  upload, configuration and engine (`engine_hash`), and it was written by another delivery (the
  one that wrote it may have died before its DLQ send, and must send it when it comes again).

A redrive is never answered by a failure: operators move messages back after fixing a cause.
The full rule, and why each part is there, is in docs/consistency.md.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from shared.manifest import Manifest
from shared.settings import Settings
from shared.variants import PIPELINE_VERSION
from worker.events import ObjectRef
from worker.job import Job

REDRIVE_COUNT = "imgpipe-redrive-count"
ERROR_TYPE = "imgpipe-error-type"
# Failures its bytes decide: the same bytes fail the same way under the same engine and limits.
# Not SourceMissing: the same bytes uploaded again (the same ETag) must be processed.
FILE_FAILURES = frozenset({"CorruptImage", "UnsupportedFormat", "ImageTooLarge"})
DECODERS = ("pyvips", "pyvips-binary", "pi-heif", "simplejpeg")


def is_redrive(message_attributes: Mapping[str, Any]) -> bool:
    """True for a message moved back from the DLQ: by `imgpipe dlq redrive` (which counts it) or
    by SQS's own move task (which keeps the attributes the worker's quarantine gave it)."""
    return any(message_attributes.get(name) for name in (REDRIVE_COUNT, ERROR_TYPE))


def complete_for(manifest: Manifest, ref: ObjectRef, config_hash: str) -> bool:
    """True when `manifest` is a complete result of this key's upload under this configuration."""
    return manifest.source.key == ref.key and manifest.covers(ref.etag, ref.version_id, config_hash)


def repeats_failure(manifest: Manifest, ref: ObjectRef, job: Job, types: Collection[str]) -> bool:
    """True when `manifest` records a failure of one of `types` that answers this delivery."""
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


def answered(manifest: Manifest, ref: ObjectRef, job: Job) -> bool:
    """True when `manifest` answers this delivery before any image work."""
    return complete_for(manifest, ref, job.config_hash) or repeats_failure(manifest, ref, job, FILE_FAILURES)


def engine_hash(settings: Settings) -> str:
    """A short digest of what decides a file's failure besides the configuration."""
    limits = settings.limits
    return _engine_hash(limits.max_pixels, limits.max_bytes, limits.max_frames, settings.memory_budget_bytes)


@functools.cache
def _engine_hash(*limits: int) -> str:
    canonical = json.dumps({"decoders": _decoders(), "code": _code_digest(), "limits": limits})
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _decoders() -> dict[str, str]:
    found = {}
    for name in DECODERS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


@functools.cache
def _code_digest() -> str:
    # Any change to the worker's code may change what it can decode; a change that does not
    # costs one more try of a duplicate after a deploy, which is the safe side to err on.
    digest = hashlib.sha256()
    worker = Path(__file__).parent
    for package in (worker, worker.parent / "shared"):
        for path in sorted(package.rglob("*.py")):
            digest.update(f"{package.name}/{path.relative_to(package).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
