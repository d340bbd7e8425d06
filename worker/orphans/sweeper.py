"""One invocation of the scheduled sweep: pages of `processed/` until the listing ends or the
deadline nears, progress kept in the state object, what was removed logged and counted.

The cut-off is taken first, before the state or any page is read: every render older than it
was committed, if ever, before this invocation started, so the manifests its pages read show
it. The next page starts only while there is time for twice the slowest page so far plus the
state write, so an invocation stops before its deadline instead of being cut off mid-page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import ImgpipeError
from shared.observability import MetricUnit, logger, metrics
from worker.orphans import state as states
from worker.orphans.pages import Swept, list_page, sweep_page

RESERVE_S = 10.0  # kept back for the state write and the metrics flush


def utcnow() -> datetime:
    """The time the cut-off is measured from (one place, so a test can move it)."""
    return datetime.now(UTC)


class SweepIncomplete(ImgpipeError):
    """The sweep went through, but kept objects it should have judged (an unreadable manifest)
    or S3 refused deletes; raised after the progress is saved, so the invocation counts as failed."""


@dataclass
class Totals:
    """What this invocation did."""

    cutoff: datetime
    pages: int = 0
    scanned: int = 0
    removed: int = 0
    bytes: int = 0
    listed: int = 0
    recent: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    stopped_by: str = "deadline"

    def add(self, swept: Swept) -> tuple[int, int]:
        """Count one page; returns (objects, bytes) it removed."""
        gone = [o.stored for o in swept.plan.remove if o.stored.key not in swept.refused]
        size = sum(s.bytes for s in gone)
        self.pages += 1
        self.scanned += len(swept.plan.listed) + len(swept.plan.recent) + len(swept.plan.remove)
        self.removed, self.bytes = self.removed + len(gone), self.bytes + size
        self.listed, self.recent = self.listed + len(swept.plan.listed), self.recent + len(swept.plan.recent)
        self.unreadable.update(swept.unreadable)
        self.refused.update(swept.refused)
        return len(gone), size


def run(
    s3: Any,
    bucket: str,
    older_than_s: float,
    page_keys: int,
    remaining_s: Callable[[], float],
    kms_key_id: str | None = None,
    now: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """Sweep pages until the end of `processed/` or the deadline; returns what was done."""
    now = now or utcnow
    totals = Totals(cutoff=now() - timedelta(seconds=older_than_s))  # before anything is read
    saved: states.Saved | None = states.load(s3, bucket)
    slowest = 0.0
    while saved is not None and remaining_s() > RESERVE_S + 2 * slowest:
        started = time.monotonic()
        current = saved.state
        cycle = current.cycle or states.Cycle(started_at=now().isoformat())
        page = list_page(s3, bucket, current.after, page_keys)
        swept = sweep_page(s3, bucket, page.stored, totals.cutoff)
        removed, size = totals.add(swept)
        _log_page(swept, removed, size)
        cycle = cycle.add(len(page.stored), removed, size)
        if page.after is None:
            totals.stopped_by = "end"
            cycle = cycle.model_copy(update={"finished_at": now().isoformat()})
            logger.info("sweep cycle finished", extra={"cycle": cycle.model_dump(by_alias=True)})
            metrics.add_metric(name="SweepCyclesFinished", unit=MetricUnit.Count, value=1)
            nxt = states.State(last_cycle=cycle)
        else:
            nxt = current.model_copy(update={"after": page.after, "cycle": cycle})
        saved = states.save(s3, bucket, saved, nxt, kms_key_id)
        slowest = max(slowest, time.monotonic() - started)
        if page.after is None:
            break
    if saved is None:
        totals.stopped_by = "conflict"
        logger.warning("sweep state changed under this invocation (another sweep ran); stopping")
    return _finish(totals, saved)


def _log_page(swept: Swept, removed: int, size: int) -> None:
    if swept.plan.remove:
        objects = [
            {"key": o.stored.key, "bytes": o.stored.bytes, "reason": o.reason,
             "lastModified": o.stored.last_modified.isoformat()}
            for o in swept.plan.remove
        ]  # fmt: skip
        logger.info(
            "sweep removed objects no manifest lists",
            extra={"removed": removed, "bytes": size, "refused": swept.refused, "objects": objects},
        )
    for key, why in swept.unreadable.items():
        logger.error("sweep kept an image whose manifest cannot be read", extra={"key": key, "error": why})


def _finish(totals: Totals, saved: states.Saved | None) -> dict[str, Any]:
    for name, value, unit in (
        ("SweepPages", totals.pages, MetricUnit.Count),
        ("SweepObjectsScanned", totals.scanned, MetricUnit.Count),
        ("SweepObjectsRemoved", totals.removed, MetricUnit.Count),
        ("SweepBytesRemoved", totals.bytes, MetricUnit.Bytes),
        ("SweepManifestsUnreadable", len(totals.unreadable), MetricUnit.Count),
        ("SweepDeletesRefused", len(totals.refused), MetricUnit.Count),
    ):
        metrics.add_metric(name=name, unit=unit, value=value)
    summary = {
        "cutoff": totals.cutoff.isoformat(), "stoppedBy": totals.stopped_by, "pages": totals.pages,
        "scanned": totals.scanned, "removed": {"objects": totals.removed, "bytes": totals.bytes},
        "kept": {"listed": totals.listed, "recent": totals.recent},
        "after": saved.state.after if saved else None,
        "unreadable": sorted(totals.unreadable), "refused": sorted(totals.refused),
    }  # fmt: skip
    logger.info("sweep invocation done", extra=summary)
    if totals.unreadable or totals.refused:
        first = sorted(totals.unreadable or totals.refused)[0]
        raise SweepIncomplete(
            f"{len(totals.unreadable)} manifests unreadable (their images were kept) and"
            f" {len(totals.refused)} deletes refused; first: {first}"
        )
    return summary
