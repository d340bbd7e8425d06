"""Backing up the DLQ to a JSON Lines file, and purging only what has been backed up.

One JSON object a line: `{"messageId", "body", "messageAttributes", "attributes"}`, the message
attributes in SQS's own shape (`{"DataType", "StringValue"}`, binary values base64-encoded), so a
line can be sent back as it is. The file is written beside its final name and renamed into place
once complete and flushed to disk, so a file under that name is never a partial backup.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from deploy.ops.dlq.message import Quarantined
from deploy.ops.dlq.reader import DlqReader, ReadReport
from deploy.ops.dlq.selection import Selection


def export_record(message: Quarantined) -> dict[str, Any]:
    """One export line's object."""
    attributes = {}
    for name, value in message.message_attributes.items():
        kept = {k: v for k, v in value.items() if k in ("DataType", "StringValue")}
        if isinstance(value.get("BinaryValue"), bytes | bytearray):
            kept["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        attributes[name] = kept
    return {
        "messageId": message.message_id,
        "body": message.body,
        "messageAttributes": attributes,
        "attributes": message.attributes,
    }


def default_purge_path(now: datetime | None = None) -> Path:
    """`imgpipe-dlq-purge-<UTC time>.jsonl` in the working folder."""
    return Path(f"imgpipe-dlq-purge-{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}.jsonl")


@contextmanager
def export_file(path: Path, force: bool = False) -> Iterator[IO[str]]:
    """A file to write lines to that appears under `path` only once complete."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
    partial.replace(path)


def _line(handle: IO[str], message: Quarantined) -> None:
    handle.write(json.dumps(export_record(message), ensure_ascii=False) + "\n")


@dataclass
class Exported:
    """What an export (or a purge) did."""

    path: Path
    read: ReadReport
    exported: int = 0
    deleted: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """`{"file", "exported", "deleted", "failed", "failures": [{"messageId", "reason"}], "read"}`."""
        return {
            "file": str(self.path),
            "exported": self.exported,
            "deleted": self.deleted,
            "failed": len(self.failures),
            "failures": [{"messageId": m, "reason": r} for m, r in self.failures.items()],
            "read": self.read.as_json(),
        }


def export(reader: DlqReader, selection: Selection, path: Path, force: bool = False) -> Exported:
    """Write every selected message to `path`; nothing is removed (call inside `with reader`)."""
    result = Exported(path, reader.report)
    now = datetime.now(UTC)
    with export_file(path, force) as handle:
        for message in reader:
            if selection.matches(message, now):
                _line(handle, message)
                result.exported += 1
    reader.release_all()
    return result


def purge(reader: DlqReader, selection: Selection, path: Path, force: bool = False) -> Exported:
    """Export the selected messages to `path`, and once it is on disk delete them from the DLQ."""
    result = Exported(path, reader.report)
    now, chosen = datetime.now(UTC), []
    with export_file(path, force) as handle:
        for message in reader:
            if selection.matches(message, now):
                _line(handle, message)
                chosen.append(message.message_id)
    result.exported = len(chosen)
    result.failures = reader.delete(chosen)
    result.deleted = len(chosen) - len(result.failures)
    reader.release_all()
    return result
