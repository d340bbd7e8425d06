"""Every upload of a run as its client saw it, and how each one ended: the run's ledger file.

A client follows its own uploads through `GET /v1/images/{imageId}` (`loadtest.load.follow`);
when one ends, `Tracker.settle` fires it as locust request type `e2e`, named `complete` or
`quarantined` (a `failed` image), with the time from asking for its upload form to seeing its
final status, so p50/p95/p99 sit in locust's own stats, CSV and HTML beside the API's routes.
Each upload keeps its key from the API's answer (`uploads/{sub}/{imageId}.{ext}`: whose it is),
and the manifest's `processedAt` as the API reported it, which the drain figures are made of.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from shared.keys import parse_upload_key

NAMES = {"complete": "complete", "failed": "quarantined"}
GAVE_UP = "no final status within --drain-timeout (the runner still reconciles it from the buckets)"

Fire = Callable[[str, float, Exception | None], None]  # (name, ms, exception): an `e2e` request


@dataclass
class Upload:
    """One upload as a client saw it, and how it ended."""

    image_id: str
    key: str  # uploads/{sub}/{imageId}.{ext}, as the API pinned it
    payload: str
    put_started: float  # epoch seconds, when the file's transfer to S3 began
    put_ms: float
    outcome: str | None = None  # complete | quarantined | lost
    e2e_ms: float | None = None  # asking for the form -> seeing the final status
    requested: float | None = None  # epoch seconds, when the client asked for the upload's form
    processed_at: float | None = None  # epoch seconds, the manifest's processedAt
    polls: int = 0  # GET /v1/images/{imageId} calls made for it

    @property
    def user(self) -> str:
        """Whose upload it is: the sub in its key."""
        return parse_upload_key(self.key).user_id

    @property
    def started(self) -> float:
        """When its e2e began: the ask for its form (the transfer's start in older ledgers)."""
        return self.requested if self.requested is not None else self.put_started

    @property
    def ended_at(self) -> float | None:
        """When the pipeline was done with it (its manifest's processedAt), if it was."""
        if self.processed_at is not None:
            return self.processed_at
        return None if self.e2e_ms is None else self.started + self.e2e_ms / 1000

    @property
    def pipeline_ms(self) -> float | None:
        """Asking for the form -> the manifest's processedAt: e2e without the client's polling."""
        return None if self.processed_at is None else max(0.0, (self.processed_at - self.started) * 1000)


def processed_at(text: str) -> float:
    """Epoch seconds of a manifest's ISO-8601 `processedAt`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Tracker:
    """Every upload of this process by imageId; each end is reported through `fire`."""

    def __init__(self, fire: Fire) -> None:
        self.fire = fire
        self.uploads: dict[str, Upload] = {}

    def track(self, upload: Upload) -> None:
        """Count `upload` in: it reached S3 and is followed until it ends."""
        self.uploads[upload.image_id] = upload

    def pending(self) -> list[Upload]:
        """Uploads with no outcome yet."""
        return [u for u in self.uploads.values() if u.outcome is None]

    def settle(self, upload: Upload, image: dict[str, object], seen_at: float) -> bool:
        """Record what `GET /v1/images/{imageId}` answered at `seen_at`; True once it is final."""
        status = str(image.get("status") or "pending")
        if upload.outcome is not None or status == "pending":
            return upload.outcome is not None
        upload.outcome = NAMES.get(status, status or "unknown")
        upload.e2e_ms = max(0.0, (seen_at - upload.started) * 1000)
        stamp = image.get("processedAt")
        upload.processed_at = processed_at(stamp) if isinstance(stamp, str) else None
        odd = None if status in NAMES else ValueError(f"image ended {status!r}, not complete or failed")
        self.fire(upload.outcome, upload.e2e_ms, odd)
        return True

    def give_up(self) -> None:
        """Mark every pending upload lost, and report it as a failed `e2e` request."""
        for upload in self.pending():
            upload.outcome = "lost"
            self.fire("lost", (time.time() - upload.started) * 1000, TimeoutError(GAVE_UP))

    def write(self, path: Path) -> None:
        """Every tracked upload as JSON lines, for the runner's reconciliation."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as file:
            for upload in self.uploads.values():
                file.write(json.dumps(asdict(upload)) + "\n")


def read(path: Path) -> list[Upload]:
    """The uploads `Tracker.write` wrote."""
    return [Upload(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def ledger_files(path: Path) -> list[Path]:
    """A run's ledger files: `path` itself, or one per locust worker (`uploads.<index>.jsonl`)."""
    return sorted(p for p in path.parent.glob(f"{path.stem}*{path.suffix}") if p.is_file())


def read_all(path: Path) -> list[Upload]:
    """Every upload of a run, from all of its ledger files."""
    return [upload for file in ledger_files(path) for upload in read(file)]
