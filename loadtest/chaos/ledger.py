"""The ledger a chaos run ends with, read back from S3, the DLQ and the fault proxy's log.

`loadtest.load.ledger.reconcile` says what became of each upload (complete, quarantined, lost); this
adds what a chaos run must also prove: that every complete manifest is true (each listed variant
read back hashes to its listed sha256, and the manifest describes the key's current upload), how
often an image was rendered more than once, and how often SQS had to deliver a message again.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loadtest.load.ledger import Ledger
from loadtest.load.ledger import manifest as read_manifest
from loadtest.load.tracker import Upload
from shared.keys import PROCESSED_PREFIX

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

RENDER_PUT = re.compile(rf"^PUT /[^/]+/{PROCESSED_PREFIX}([^/]+)/([^/]+)/([^/]+)/[^/ ?]+")


@dataclass
class ChaosLedger:
    """Everything `make chaos` prints and judges."""

    ledger: Ledger
    poison: int
    inconsistent: list[str] = field(default_factory=list)
    renders: Counter[str] = field(default_factory=Counter)  # render runs that PUT variants, by imageId
    receive_counts: dict[int, int] = field(default_factory=dict)
    stuck: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    duplicates_sent: int = 0
    reuploaded: list[str] = field(default_factory=list)  # imageIds given a newer upload (and a stale event)
    conflicts: list[str] = field(default_factory=list)  # second keys of an imageId
    conflicts_not_quarantined: list[str] = field(default_factory=list)
    kill_every_s: float = 0.0  # kills were asked for: a run without one proved nothing about them
    killer: str = ""  # what the killer did in all (`kills.Killer.summary`)

    @property
    def duplicate_work(self) -> int:
        """Renders beyond the first per image (a duplicate delivery should cause none; a kill or a
        failed write before the commit makes the redelivery render again)."""
        uploads = Counter(self.reuploaded)
        return sum(max(0, n - 1 - uploads[image]) for image, n in self.renders.items())

    @property
    def max_receive_count(self) -> int:
        """The most times SQS delivered one message."""
        return max(self.receive_counts, default=0)

    def failures(self) -> list[str]:
        """Why the run failed, one reason a line (empty when it held)."""
        ledger, reasons = self.ledger, []
        counts = {"lost": len(ledger.lost), "inconsistent": len(self.inconsistent), "stuck": self.stuck,
                  "poison not quarantined": len(ledger.poison_not_quarantined),
                  "imageId clashes not quarantined": len(self.conflicts_not_quarantined)}  # fmt: skip
        reasons += [f"{what}: {count}" for what, count in counts.items() if count]
        if ledger.quarantined != self.poison:
            reasons.append(f"quarantined {ledger.quarantined}, but {self.poison} uploads were poison")
        if self.kill_every_s > 0 and self.kills == 0:
            reasons.append(f"no worker was killed (--kill-every {self.kill_every_s:g}): the run ended first")
        return reasons

    @property
    def ok(self) -> bool:
        """Nothing lost, inconsistent or stuck, exactly the poison quarantined, kills when asked."""
        return not self.failures()

    def line(self) -> str:
        """The one-line verdict."""
        ledger = self.ledger
        return (
            f"chaos: uploaded={ledger.uploaded} complete={ledger.complete} quarantined={ledger.quarantined}"
            f" (poison={self.poison}) lost={len(ledger.lost)} inconsistent={len(self.inconsistent)}"
            f" duplicate_image_work={self.duplicate_work} max_receive_count={self.max_receive_count}"
            f" stuck={self.stuck}"
        )

    def details(self) -> list[str]:
        """The figures behind the verdict: faults by kind, kills, duplicates, redeliveries."""
        by_kind: Counter[str] = Counter()
        for name, n in self.faults.items():
            by_kind[name.split(":", 1)[1]] += n
        redelivered = sum(n for count, n in self.receive_counts.items() if count > 1)
        return [
            "faults injected: " + (", ".join(f"{k}={n}" for k, n in sorted(by_kind.items())) or "none"),
            "faults by service: " + ", ".join(f"{k}={n}" for k, n in sorted(self.faults.items())),
            f"kills: {self.kills}; duplicate deliveries sent: {self.duplicates_sent};"
            f" deliveries again (receive count > 1): {redelivered}",
            f"newer uploads then stale events: {len(self.reuploaded)}; second uploads of an imageId:"
            f" {len(self.conflicts)}, not quarantined {len(self.conflicts_not_quarantined)}",
            f"quarantined uploads not in the DLQ exactly once: {len(self.ledger.dlq_mismatch)}"
            " (a kill between a DLQ send and the message's delete, or a send whose answer was lost,"
            " leaves two: see docs/reliability.md)",
            "deliveries by receive count: "
            + ", ".join(f"{c}: {n}" for c, n in sorted(self.receive_counts.items())),
            *([self.killer] if self.killer else []),
        ]


def _variant_problems(s3: S3Client, bucket: str, manifest: dict[str, Any]) -> str | None:
    for variant in manifest.get("variants", []):
        try:
            data = s3.get_object(Bucket=bucket, Key=variant["key"])["Body"].read()
        except s3.exceptions.NoSuchKey:
            return f"{variant['key']} is missing"
        if hashlib.sha256(data).hexdigest() != variant["sha256"]:
            return f"{variant['key']} does not hash to its listed sha256"
    return None


def check_manifest(s3: S3Client, output_bucket: str, input_bucket: str, upload: Upload) -> str | None:
    """Why the upload's complete manifest is not true, or None (also when it is not complete)."""
    manifest = read_manifest(s3, output_bucket, upload.image_id)
    if manifest.get("status") != "complete":
        return None
    current = s3.head_object(Bucket=input_bucket, Key=upload.key)["ETag"].strip('"')
    if str(manifest["source"].get("etag", "")).strip('"') != current:
        return f"describes etag {manifest['source'].get('etag')}, the key holds {current}"
    return _variant_problems(s3, output_bucket, manifest)


def inconsistent(s3: S3Client, output_bucket: str, input_bucket: str, uploads: list[Upload]) -> list[str]:
    """`imageId: reason` for every complete manifest that is not true, read back from S3."""
    with ThreadPoolExecutor(8) as pool:
        problems = pool.map(lambda u: (u, check_manifest(s3, output_bucket, input_bucket, u)), uploads)
        return [f"{u.image_id}: {why}" for u, why in problems if why]


def renders_from_log(log: Path) -> Counter[str]:
    """Distinct render runs that PUT variants, per imageId, from the fault proxy's request log."""
    runs: dict[str, set[str]] = defaultdict(set)
    if log.exists():
        for line in log.read_text().splitlines():
            match = RENDER_PUT.match(line)
            if match:
                runs[match.group(2)].add(match.group(3))
    return Counter({image: len(ids) for image, ids in runs.items()})


def receive_counts(stats: Mapping[str, Any]) -> dict[int, int]:
    """The proxy's deliveries-by-receive-count table."""
    return {int(count): int(n) for count, n in dict(stats.get("receive_counts", {})).items()}


def fault_counts(stats: Mapping[str, Any]) -> dict[str, int]:
    """The proxy's injected faults, by `service:kind`."""
    return {str(name): int(n) for name, n in dict(stats.get("faults", {})).items()}
