"""The `redrive` scenario's operator: a DLQ redrive running again and again while uploads go on.

Every `every_s` the thread moves what the DLQ holds back to the work queue with the operator's
own code (`deploy.ops.dlq.redrive`, rate-limited, held back at the redrive limit), so quarantined
records are processed again beside fresh uploads. Poison files come straight back, with
`imgpipe-redrive-count` counted up; after the run each must be in the DLQ again: a copy
lost in a move fails the run, a second copy (a delete that failed after the send) is reported.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from deploy.ops.dlq.reader import DlqReader
from deploy.ops.dlq.redrive import RedrivePlan, redrive

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

EVERY_S = 5.0
RATE = 50.0  # messages/s: a redrive must not starve the uploads' own work


class Redriver(threading.Thread):
    """Redrive `dlq_url` into `queue_url` every `every_s` until `finish()`."""

    def __init__(self, sqs: SQSClient, dlq_url: str, queue_url: str, every_s: float = EVERY_S) -> None:
        super().__init__(daemon=True, name="redriver")
        self.sqs, self.dlq_url, self.queue_url, self.every_s = sqs, dlq_url, queue_url, every_s
        self.moved = 0
        self.rounds = 0
        self.errors: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every_s):
            self.redrive_once()

    def redrive_once(self) -> None:
        """One operator redrive of everything the DLQ holds now."""
        plan = RedrivePlan(target_url=self.queue_url, rate=RATE)
        try:
            with DlqReader(self.sqs, self.dlq_url, wait_s=0, max_seconds=self.every_s) as reader:
                result = redrive(self.sqs, reader, plan)
        except Exception as exc:  # noqa: BLE001 - a failed round is reported, the run goes on
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        self.rounds += 1
        self.moved += len(result.moved)
        self.errors.extend(f"{f['stage']}: {f['reason']}" for f in result.failures)
        if result.aborted:
            self.errors.append(result.aborted)

    def finish(self) -> None:
        """Stop after the round in progress."""
        self._stop_event.set()
        self.join(timeout=60)
