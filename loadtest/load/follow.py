"""How a client follows its uploads: `GET /v1/images/{imageId}` on a backoff, as an app polls.

Each upload is first asked for FIRST_POLL_S after its transfer to S3 ended, then after waits
growing by GROWTH up to CAP_S: 0.5, 0.75, 1.1, 1.7, 2.5, 3.8, then every 4 s (polls at 0.5,
1.25, 2.4, 4.1, 6.6, 10.4 s, ... after the transfer). An app cannot see the queue, so it asks
soon (most small photos are done within a few seconds) and backs off when the answer is still
`pending`. The choice quantises e2e: a client sees an image done at its next poll, up to one
wait after its manifest was written: while the waits still grow, a wait is about half the time
since the transfer (plus 0.25 s), and never more than CAP_S. The runner prints that gap beside
e2e ("polling added"), from the `processedAt` each final answer carries.

Each client polls one image at a time, on a connection of its own beside the one it uploads on,
so the API sees at most one status call per client in flight.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from deploy.client import ApiError
from loadtest.load.tracker import Tracker, Upload

FIRST_POLL_S = 0.5
GROWTH = 1.5
CAP_S = 4.0
IDLE_S = 0.2  # how often a client looks again for a newly sent upload while waiting


def next_wait(previous: float | None) -> float:
    """The wait before the next poll, after `previous` (None: the first poll after the transfer)."""
    return FIRST_POLL_S if previous is None else min(CAP_S, previous * GROWTH)


@dataclass(order=True)
class _Due:
    at: float
    order: int
    wait: float = field(compare=False)
    upload: Upload = field(compare=False)


class Follower:
    """One client's uploads, each polled on its own backoff until it ends (or the run gives up)."""

    def __init__(
        self, image: Callable[[str], dict[str, Any]], tracker: Tracker, clock: Callable[[], float] = time.time
    ) -> None:
        self.image, self.tracker, self.clock = image, tracker, clock
        self._due: list[_Due] = []
        self._order = itertools.count()

    def follow(self, upload: Upload, sent_at: float) -> None:
        """Start following `upload`, whose transfer to S3 ended at `sent_at`."""
        self._schedule(upload, sent_at, None)

    def _schedule(self, upload: Upload, since: float, previous: float | None) -> None:
        wait = next_wait(previous)
        heapq.heappush(self._due, _Due(since + wait, next(self._order), wait, upload))

    def next_at(self) -> float | None:
        """When the next poll is due (None: nothing left to follow)."""
        while self._due and self._due[0].upload.outcome is not None:
            heapq.heappop(self._due)  # ended elsewhere: the run gave up on it
        return self._due[0].at if self._due else None

    def poll_once(self) -> None:
        """Ask for the earliest due image now, and follow it further unless it ended."""
        if self.next_at() is None:
            return
        due = heapq.heappop(self._due)
        due.upload.polls += 1
        try:
            answer = self.image(due.upload.image_id)
        except (ApiError, requests.RequestException):
            answer = None  # in locust's stats as a failed request; the app asks again on its backoff
        if answer is None or not self.tracker.settle(due.upload, answer, self.clock()):
            self._schedule(due.upload, self.clock(), due.wait)

    def run(self, uploading: Callable[[], bool], sleep: Callable[[float], object]) -> None:
        """Poll each image when due until nothing is left to follow and `uploading()` is over."""
        while True:
            at = self.next_at()
            if at is None:
                if not uploading():
                    return
                sleep(IDLE_S)
            elif at > self.clock():
                # a little at a time: an upload sent meanwhile is due sooner than this one
                sleep(min(at - self.clock(), IDLE_S))
            else:
                self.poll_once()
