"""The figures a load run ends with: drain throughput, e2e percentiles, queue samples, the plot."""

from __future__ import annotations

import csv
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.ops.dlq.report import queue_depth
from loadtest.load.ledger import Ledger
from loadtest.load.tracker import Upload


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Drain:
    """How fast the finished uploads came out, from the first PUT to the last manifest."""

    images: int
    seconds: float

    @property
    def per_s(self) -> float:
        """Images per second over the drain."""
        return self.images / self.seconds if self.seconds > 0 else 0.0


def drain(uploads: list[Upload]) -> Drain:
    """The drain of the uploads that completed (quarantines are cheap and would flatter it)."""
    done = [u for u in uploads if u.outcome == "complete" and u.e2e_ms is not None]
    if not done:
        return Drain(0, 0.0)
    first = min(u.put_started for u in uploads)
    last = max(u.put_started + (u.e2e_ms or 0) / 1000 for u in done)
    return Drain(len(done), last - first)


def drain_after_uploads(uploads: list[Upload]) -> Drain:
    """The drain once every PUT has ended: the images completed after the last PUT, over the last
    PUT -> last complete manifest: what the pipeline does with the cores to itself once the
    uploads have landed (a burst's headline, `headline`)."""
    if not uploads:
        return Drain(0, 0.0)
    last_put = max(u.put_started + u.put_ms / 1000 for u in uploads)
    ends = [
        u.put_started + (u.e2e_ms or 0) / 1000
        for u in uploads
        if u.outcome == "complete" and u.e2e_ms is not None
    ]
    after = [end for end in ends if end > last_put]
    return Drain(len(after), max(after) - last_put) if after else Drain(0, 0.0)


# A burst is judged by its drain only when it left a backlog: when at least this share of its
# complete images ended after the last PUT. Otherwise the workers kept up with the uploads and
# the few images left after the last PUT say nothing about how fast a backlog drains.
BACKLOG_SHARE = 0.5


def headline(scenario: str, whole: Drain, settling: Drain, local: bool = True) -> tuple[Drain, Drain | None]:
    """The drain a run is judged by, of its `whole` window (`drain`) and the one after its last
    PUT (`drain_after_uploads`), and the whole window beside it when that differs.

    A burst lands first and is drained after: on the local stack the uploads themselves (locust,
    and the moto server taking in every body) run on the workers' cores, which on AWS they never
    do, and `make bench` times the handler with its uploads done beforehand. So a local burst's
    figure is the drain of what is queued once the last PUT has ended, with the whole window
    beside it. The other scenarios upload while they drain by design, and a run against AWS
    shares no cores with its uploads: their figure is the whole window.
    """
    backlog = settling.images >= BACKLOG_SHARE * whole.images and settling.seconds > 0
    return (settling, whole) if scenario == "burst" and local and backlog else (whole, None)


def summary(
    ledger: Ledger, uploads: list[Upload], rate: Drain, engine_per_s: float, whole: Drain | None = None
) -> str:
    """The one line a run ends with (`whole`: the drain with the uploads, when `rate` is without)."""
    e2e = [u.e2e_ms for u in uploads if u.e2e_ms is not None and u.outcome != "lost"]

    def ratio(of: Drain) -> float:
        return of.per_s / engine_per_s if engine_per_s else 0.0

    return (
        f"loadtest: uploaded={ledger.uploaded} complete={ledger.complete} quarantined={ledger.quarantined}"
        f" lost={len(ledger.lost)} drain_images_per_s={rate.per_s:.2f} e2e_p50_ms={percentile(e2e, 0.5):.0f}"
        f" e2e_p95_ms={percentile(e2e, 0.95):.0f} drain_vs_engine={ratio(rate):.2f}"
        + (f" with_uploads_vs_engine={ratio(whole):.2f}" if whole is not None else "")
    )


class Sampler(threading.Thread):
    """Samples the work queue (visible, in flight) and the DLQ every `every_s` into a CSV, and
    tells `progress` how they stand every `tell_every_s`."""

    FIELDS = ("t_s", "epoch_s", "visible", "in_flight", "dlq")

    def __init__(
        self, sqs: Any, queue_url: str, dlq_url: str, path: Path, every_s: float = 1.0,
        progress: Callable[[str], None] = lambda _: None, tell_every_s: float = 10.0,
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.sqs, self.queue_url, self.dlq_url, self.path = sqs, queue_url, dlq_url, path
        self.every_s, self.progress, self.tell_every_s = every_s, progress, tell_every_s
        self.rows: list[dict[str, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        started = told = time.monotonic()
        while not self._stop_event.is_set():
            try:
                work, dlq = queue_depth(self.sqs, self.queue_url), queue_depth(self.sqs, self.dlq_url)
            except Exception:  # noqa: BLE001 - a missed sample must not end the run
                work = dlq = None
            if work is not None and dlq is not None:
                now = time.monotonic()
                row = {"t_s": round(now - started, 2), "epoch_s": round(time.time(), 3),
                       "visible": work.visible, "in_flight": work.in_flight,
                       "dlq": dlq.visible + dlq.in_flight}  # fmt: skip
                self.rows.append(row)
                if now - told >= self.tell_every_s:
                    told = now
                    waiting = f"queue {work.visible} waiting, {work.in_flight} in flight"
                    self.progress(f"{row['t_s']:.0f}s: {waiting}, DLQ {row['dlq']:.0f}")
            self._stop_event.wait(self.every_s)

    def finish(self) -> list[dict[str, float]]:
        """Stop sampling and write the CSV."""
        self._stop_event.set()
        self.join(timeout=5)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=self.FIELDS)
            writer.writeheader()
            writer.writerows(self.rows)
        return self.rows


def throughput(uploads: list[Upload]) -> dict[str, list[float]]:
    """When each upload was PUT, and when each ended complete or quarantined (epoch seconds)."""
    ended: dict[str, list[float]] = {
        "uploaded": [u.put_started for u in uploads],
        "complete": [],
        "quarantined": [],
    }
    for upload in uploads:
        if upload.outcome in ("complete", "quarantined") and upload.e2e_ms is not None:
            ended[upload.outcome].append(upload.put_started + upload.e2e_ms / 1000)
    return ended


def per_second(offsets: list[float]) -> list[int]:
    """How many of `offsets` (seconds from the start) fall in each whole second."""
    counts = [0] * (int(max(offsets, default=-1)) + 1)
    for offset in offsets:
        if offset >= 0:
            counts[int(offset)] += 1
    return counts


def plot(samples: list[dict[str, float]], uploads: list[Upload], path: Path, title: str = "") -> Path | None:
    """Queue and DLQ depth, uploads and outcomes per second, and the e2e latency distribution."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, (depth, flow, latency) = plt.subplots(3, 1, figsize=(9, 10))
    t = [s["t_s"] for s in samples]
    for name in ("visible", "in_flight", "dlq"):
        depth.plot(t, [s[name] for s in samples], label=name)
    depth.set_xlabel("seconds")
    depth.set_ylabel("messages")
    depth.legend()
    origin = (
        samples[0]["epoch_s"] - samples[0]["t_s"]
        if samples
        else min((u.put_started for u in uploads), default=0)
    )
    for label, times in throughput(uploads).items():
        seconds = per_second([moment - origin for moment in times])
        flow.plot(range(len(seconds)), seconds, label=label)
    flow.set_xlim(depth.get_xlim())
    flow.set_xlabel("seconds")
    flow.set_ylabel("per second")
    flow.legend()
    done = sorted(u.e2e_ms for u in uploads if u.e2e_ms is not None and u.outcome != "lost")
    if done:
        latency.plot([i / max(1, len(done) - 1) * 100 for i in range(len(done))], done)
    latency.set_xlabel("percentile of uploads")
    latency.set_ylabel("PUT -> manifest, ms")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
