"""The work queue and the DLQ as a runner watches them: sampled into a CSV while locust runs
(`Sampler`, for the plot and the progress lines), and waited on until empty afterwards. With lanes
(docs/fairness.md) the work is in the work queue and both lanes' queues, counted together.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.ops.dlq.report import QueueDepth, queue_depth
from deploy.ops.lanes import backlog

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient


class Sampler(threading.Thread):
    """Samples the work queue (visible, in flight) and the DLQ every `every_s` into a CSV, and
    tells `progress` how they stand every `tell_every_s`."""

    FIELDS = ("t_s", "epoch_s", "visible", "in_flight", "dlq")

    def __init__(
        self, sqs: SQSClient, queue_url: str | Sequence[str], dlq_url: str, path: Path, every_s: float = 1.0,
        progress: Callable[[str], None] = lambda _: None, tell_every_s: float = 10.0,
    ) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.sqs, self.dlq_url, self.path = sqs, dlq_url, path
        self.queue_urls = [queue_url] if isinstance(queue_url, str) else list(queue_url)
        self.every_s, self.progress, self.tell_every_s = every_s, progress, tell_every_s
        self.rows: list[dict[str, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        started = told = time.monotonic()
        while not self._stop_event.is_set():
            depths = self._depths()
            if depths is not None:
                work, dlq = depths
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

    def _depths(self) -> tuple[QueueDepth, QueueDepth] | None:
        try:
            depths = [queue_depth(self.sqs, url) for url in self.queue_urls]
            work = QueueDepth(
                sum(d.visible for d in depths),
                sum(d.in_flight for d in depths),
                sum(d.delayed for d in depths),
            )
            return work, queue_depth(self.sqs, self.dlq_url)
        except Exception:  # noqa: BLE001 - a missed sample must not end the run
            return None

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


def wait_until_empty(sqs: SQSClient, queue_url: str | Sequence[str], stall_s: float, cap_s: float) -> int:
    """Wait until the queues hold nothing (visible, in flight or delayed) for as long as they keep
    shrinking; what is left once they have not shrunk for `stall_s` (stuck), or after `cap_s`."""
    urls = [queue_url] if isinstance(queue_url, str) else list(queue_url)
    started = progressed = time.monotonic()
    least = None
    while True:
        left, now = backlog(sqs, urls), time.monotonic()
        if least is None or left < least:
            least, progressed = left, now
        if left == 0 or now - progressed > stall_s or now - started > cap_s:
            return left
        time.sleep(1.0)
