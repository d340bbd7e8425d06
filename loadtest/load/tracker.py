"""Following each upload to its end: the time from its PUT until its manifest exists.

The manifest (`metadata/{imageId}/processing-info.json`) is written last, `complete` once every
variant is in place or `failed` when the upload was quarantined, so its `processedAt` is when an
uploader's image was done. Each outcome is fired as locust request type `e2e` (named `complete`
or `quarantined`), so p50/p95/p99 sit in locust's own stats, CSV and HTML beside the PUT.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shared.keys import METADATA_PREFIX, manifest_key

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

NAMES = {"complete": "complete", "failed": "quarantined"}
# Listing `metadata/` costs the moto server O(objects in the bucket) per poll (about 0.2 s of CPU
# at 1,000 manifests), on the cores the workers render on. The figures come from each manifest's
# `processedAt`, not from when a poll sees it, so while the work queue still holds records the
# manifests are listed only every BUSY_POLL_S (to keep locust's live e2e figures moving); once it
# is empty, every POLL_S until the last upload has ended.
POLL_S = 0.5
BUSY_POLL_S = 15.0
GAVE_UP = "no manifest within --drain-timeout (the runner still reconciles it from the buckets)"


@dataclass
class Upload:
    """One upload as a client saw it, and how it ended."""

    image_id: str
    key: str
    payload: str
    put_started: float  # epoch seconds, when the PUT began
    put_ms: float
    outcome: str | None = None  # complete | quarantined | lost
    e2e_ms: float | None = None


def poll_due(busy: bool, since_last_poll_s: float) -> bool:
    """Whether to list the manifests now: always once the queue is idle, rarely while it works."""
    return not busy or since_last_poll_s >= BUSY_POLL_S


def processed_at(text: str) -> float:
    """Epoch seconds of a manifest's ISO-8601 `processedAt`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Tracker:
    """Tracks uploads by imageId and reports each one's end through `fire(name, ms, exc)`."""

    def __init__(
        self, s3: S3Client, bucket: str, fire: Callable[[str, float, Exception | None], None]
    ) -> None:
        self.s3, self.bucket, self.fire = s3, bucket, fire
        self.uploads: dict[str, Upload] = {}

    def track(self, upload: Upload) -> None:
        """Follow `upload` until its manifest appears."""
        self.uploads[upload.image_id] = upload

    def pending(self) -> list[Upload]:
        """Uploads with no outcome yet."""
        return [u for u in self.uploads.values() if u.outcome is None]

    def poll(self) -> int:
        """List the manifests once, settle every pending upload that has one; how many settled."""
        waiting = {u.image_id: u for u in self.pending()}
        if not waiting:
            return 0
        settled = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=METADATA_PREFIX
        ):
            for item in page.get("Contents", []):
                image_id = item["Key"][len(METADATA_PREFIX) :].split("/", 1)[0]
                if image_id in waiting and item["Key"] == manifest_key(image_id):
                    settled += self._settle(waiting.pop(image_id))
        return settled

    def _settle(self, upload: Upload) -> int:
        body = self.s3.get_object(Bucket=self.bucket, Key=manifest_key(upload.image_id))["Body"].read()
        manifest = json.loads(body)
        upload.outcome = NAMES.get(manifest.get("status"), "unknown")
        done = processed_at(manifest["processedAt"]) if "processedAt" in manifest else time.time()
        upload.e2e_ms = max(0.0, (done - upload.put_started) * 1000)
        self.fire(upload.outcome, upload.e2e_ms, None)
        return 1

    def give_up(self) -> None:
        """Mark every pending upload lost, and report it as a failed `e2e` request."""
        for upload in self.pending():
            upload.outcome = "lost"
            self.fire("lost", (time.time() - upload.put_started) * 1000, TimeoutError(GAVE_UP))

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
