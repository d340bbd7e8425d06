"""What processing one record needs, bundled once: which delivery it is, which engine decides
what can be rendered, and how far it has got."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from shared.settings import Settings
from worker.aws import Clients
from worker.deadline import Deadline


@dataclass
class Progress:
    """The step under way, and how many of the record's objects already have a durable outcome.

    An outcome is durable once its manifest is committed or its quarantine message is sent; what
    follows (announcing, removing superseded variants) is best effort, so a deadline there must
    not send the record back for a second DLQ entry or a second commit.
    """

    step: str = "starting"
    settled: int = 0

    def at(self, step: str) -> None:
        """Name the step now under way (for the deadline's message)."""
        self.step = step

    def settle(self) -> None:
        """One more object's outcome is durable."""
        self.settled += 1


REDRIVE_COUNT = "imgpipe-redrive-count"
ERROR_TYPE = "imgpipe-error-type"
DECODERS = ("pyvips", "pyvips-binary", "pi-heif", "simplejpeg")


@dataclass(frozen=True)
class Delivery:
    """Which SQS message the record is, and whether an operator moved it back from the DLQ."""

    message_id: str = ""
    redriven: bool = False


@dataclass(frozen=True)
class Job:
    """What processing needs, bundled once per record."""

    settings: Settings
    config_hash: str
    clients: Clients
    executor: Executor
    deadline: Deadline
    delivery: Delivery = field(default_factory=Delivery)
    progress: Progress = field(default_factory=Progress)


def is_redrive(message_attributes: Mapping[str, Any]) -> bool:
    """True for a message moved back from the DLQ: by `imgpipe dlq redrive` (which counts it) or
    by SQS's own move task (which keeps the attributes the worker's quarantine gave it)."""
    return any(message_attributes.get(name) for name in (REDRIVE_COUNT, ERROR_TYPE))


def engine_hash(settings: Settings) -> str:
    """A short digest of what decides whether bytes can be rendered, besides the configuration:
    the decoders' versions, the worker's code and its limits (docs/consistency.md)."""
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
