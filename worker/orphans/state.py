"""Where the scheduled sweep left off: one small object in the output bucket.

A full pass over `processed/` (a cycle) takes many invocations at scale; each invocation goes on
after the last key its predecessor finished and records its own progress after every page. The
state carries progress only, never safety: every page takes its cut-off before reading, so a
lost, stale or corrupt state only repeats or skips work. Writes are conditional on the state
read (IfMatch / IfNoneMatch), so two overlapping invocations cannot interleave their progress:
the second to write finds the state changed and stops.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.observability import logger

STATE_KEY = "sweep/state.json"
_CHANGED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class Cycle(BaseModel):
    """One pass over `processed/`: when it started and what it did so far."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    started_at: str = Field(alias="startedAt")
    finished_at: str | None = Field(default=None, alias="finishedAt")
    pages: int = 0
    scanned: int = 0
    removed: int = 0
    bytes: int = 0

    def add(self, scanned: int, removed: int, size: int) -> Cycle:
        """This cycle with one more page."""
        return self.model_copy(
            update={"pages": self.pages + 1, "scanned": self.scanned + scanned,
                    "removed": self.removed + removed, "bytes": self.bytes + size}
        )  # fmt: skip


class State(BaseModel):
    """`sweep/state.json`: the last key done in the current cycle, and the last finished cycle."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_: int = Field(default=1, alias="schema")
    after: str = ""
    cycle: Cycle | None = None
    last_cycle: Cycle | None = Field(default=None, alias="lastCycle")


@dataclass(frozen=True)
class Saved:
    """A state as stored, with the ETag a conditional write needs (None: nothing stored)."""

    state: State
    etag: str | None


def load(s3: Any, bucket: str) -> Saved:
    """The stored state; a fresh one when there is none or it cannot be read."""
    try:
        response = s3.get_object(Bucket=bucket, Key=STATE_KEY)
    except s3.exceptions.NoSuchKey:
        return Saved(State(), None)
    etag = str(response["ETag"])
    try:
        return Saved(State.model_validate_json(response["Body"].read()), etag)
    except ValidationError as exc:
        logger.warning(
            "sweep state unreadable; starting a new cycle", extra={"key": STATE_KEY, "error": str(exc)}
        )
        return Saved(State(), etag)


def save(s3: Any, bucket: str, saved: Saved, state: State, kms_key_id: str | None) -> Saved | None:
    """Write `state` if the stored one is still `saved`; None when another invocation moved it."""
    condition = {"IfMatch": saved.etag} if saved.etag else {"IfNoneMatch": "*"}
    encryption: dict[str, Any] = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id, "BucketKeyEnabled": True}
        if kms_key_id
        else {"ServerSideEncryption": "AES256"}
    )
    body = json.dumps(state.model_dump(by_alias=True, exclude_none=True), separators=(",", ":"))
    try:
        response = s3.put_object(
            Bucket=bucket, Key=STATE_KEY, Body=body.encode(), ContentType="application/json",
            **encryption, **condition,
        )  # fmt: skip
    except s3.exceptions.ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in _CHANGED:
            return None
        raise
    return Saved(state, str(response["ETag"]))
