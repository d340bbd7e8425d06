"""How a client follows its uploads: `GET /v1/images/{imageId}` in the order it sent them, on a
backoff, as an app showing a camera roll's progress does.

The client asks about its oldest unfinished upload, first FIRST_POLL_S after that one's transfer
to S3 ended. While the answer is `pending` it waits, 0.5 s growing by GROWTH up to CAP_S (0.5,
0.75, 1.1, 1.7, 2.5, 3.8, then 4 s); once it is final, it asks about the next upload at once (it
was most likely done meanwhile), and the waits start again from 0.5 s.

Why in order: uploads end about in the order they were sent (the queue is worked oldest first),
so polling each unfinished upload on its own backoff would mostly ask about images that cannot
be done yet: in a 1,000-photo burst, 1,000 images pending for 40 s at one call each 4 s is 250
calls/s against the local front door, one process on the workers' two cores. In order, a client
makes about one call per file plus one per wait.

What it does to e2e: a client sees an image done up to one wait after its manifest was written
(at most CAP_S), later still when an image sent after another finished before it (by as much as
the other took longer). The runner prints that gap beside e2e ("polling added"), from the
`processedAt` each final answer carries. Each client polls on a connection of its own beside the
one it uploads on, one call at a time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import requests

from deploy.client import ApiError
from loadtest.load.tracker import Tracker, Upload

FIRST_POLL_S = 0.5
GROWTH = 1.5
CAP_S = 4.0
IDLE_S = 0.2  # how often a client with nothing to poll looks again while it still uploads


def next_wait(previous: float | None) -> float:
    """The wait after a `pending` answer, given the one before (None: the first for this upload)."""
    return FIRST_POLL_S if previous is None else min(CAP_S, previous * GROWTH)


class Follower:
    """One client's uploads, polled oldest first until each ends (or the run gives up on it)."""

    def __init__(
        self, image: Callable[[str], dict[str, Any]], tracker: Tracker, clock: Callable[[], float] = time.time
    ) -> None:
        self.image, self.tracker, self.clock = image, tracker, clock
        self._sent: deque[tuple[Upload, float]] = deque()  # (upload, its transfer's end), in order
        self._wait: float | None = None  # the oldest upload's last wait (None: not asked yet)
        self._due = 0.0

    def follow(self, upload: Upload, sent_at: float) -> None:
        """Start following `upload`, whose transfer to S3 ended at `sent_at`."""
        self._sent.append((upload, sent_at))
        if len(self._sent) == 1:
            self._next_oldest()

    def _next_oldest(self) -> None:
        # uploads the run gave up on (marked lost) are followed no more
        while self._sent and self._sent[0][0].outcome is not None:
            self._sent.popleft()
        if self._sent:
            self._wait = None
            self._due = max(self._sent[0][1] + FIRST_POLL_S, self.clock())

    def next_at(self) -> float | None:
        """When the next poll is due (None: nothing left to follow)."""
        if self._sent and self._sent[0][0].outcome is not None:
            self._next_oldest()
        return self._due if self._sent else None

    def poll_once(self) -> None:
        """Ask about the oldest unfinished upload now; move on if it ended, else wait longer."""
        if self.next_at() is None:
            return
        upload = self._sent[0][0]
        upload.polls += 1
        try:
            answer = self.image(upload.image_id)
        except (ApiError, requests.RequestException):
            answer = None  # in locust's stats as a failed request; the app asks again after a wait
        if answer is not None and self.tracker.settle(upload, answer, self.clock()):
            self._sent.popleft()
            self._next_oldest()
            return
        self._wait = next_wait(self._wait)
        self._due = self.clock() + self._wait

    def run(self, uploading: Callable[[], bool], sleep: Callable[[float], object]) -> None:
        """Poll when due until nothing is left to follow and `uploading()` is over."""
        while True:
            at = self.next_at()
            if at is None:
                if not uploading():
                    return
                sleep(IDLE_S)
            elif at > self.clock():
                sleep(at - self.clock())
            else:
                self.poll_once()
