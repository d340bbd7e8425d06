"""Sending re-queued events to the work queue at a set rate, every entry checked.

`imgpipe reprocess` (`deploy.ops.reprocess`) chooses the uploads and builds their S3-shaped
events; this sends them with SendMessageBatch, paced so that no more than `rate` go out per
second, and reports every entry SQS refused or left unanswered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from deploy.ops.refused import Refused

if TYPE_CHECKING:
    from deploy.ops.reprocess import Upload

BATCH = 10  # SendMessageBatch takes at most 10 entries


class Pacer:
    """Holds sends back so that, counted from the first, no more than `rate` go out per second."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.started: float | None = None
        self.sent = 0

    def wait(self, count: int) -> None:
        """Block until `count` more messages may go out."""
        if self.started is None:
            self.started = self.clock()
        delay = self.started + self.sent / self.rate - self.clock()
        if delay > 0:
            self.sleep(delay)
        self.sent += count


def send_events(
    sqs: Any,
    queue_url: str,
    bodies: Iterable[tuple[Upload, str]],
    pacer: Pacer,
    on_sent: Callable[[int], None] = lambda _: None,
) -> list[Refused]:
    """Send every (upload, body) with SendMessageBatch, paced; returns the entries SQS refused."""
    batch_size = max(1, min(BATCH, int(pacer.rate)))
    failed: list[Refused] = []
    pending = list(bodies)
    for start in range(0, len(pending), batch_size):
        chunk = pending[start : start + batch_size]
        pacer.wait(len(chunk))
        entries = [{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(chunk)]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed.extend(_refused(response, [upload for upload, _ in chunk]))
        on_sent(len(chunk))
    return failed


def _refused(response: dict[str, Any], uploads: list[Upload]) -> list[Refused]:
    """Every entry not reported successful: SQS's failures, and any entry it left unanswered."""
    done = {entry["Id"] for entry in response.get("Successful", [])}
    errors = {entry["Id"]: entry for entry in response.get("Failed", [])}
    refused = []
    for index, upload in enumerate(uploads):
        entry_id = str(index)
        if entry_id in errors:
            error = errors[entry_id]
            refused.append(Refused(upload.key, str(error.get("Code")), str(error.get("Message", ""))))
        elif entry_id not in done:
            refused.append(Refused(upload.key, "NoResult", "SendMessageBatch did not answer for it"))
    return refused
