"""Pacing a redrive: a token bucket, so the work queue gets messages back at a rate the system takes.

Sends go out in batches of up to ten; the bucket holds one batch, so over any stretch of time
no more than `rate` x seconds + one batch messages are sent.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

MIN_RATE = 0.1
MAX_RATE = 3000.0
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:/\s*s)?\s*$")


def parse_rate(text: str) -> float:
    """`20`, `20/s` or `0.5/s` as messages per second; raises ValueError naming the accepted range."""
    match = _RATE.match(text)
    rate = float(match[1]) if match else math.nan
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"not a rate: {text!r} (messages per second, {MIN_RATE} to {MAX_RATE:g}, e.g. 20/s)")
    return rate


def batch_size(rate: float | None, most: int = 10) -> int:
    """How many messages to send at once: up to `most`, and no more than a second's worth."""
    return most if rate is None else max(1, min(most, math.floor(rate)))


class TokenBucket:
    """`acquire(n)` returns once n tokens are there; tokens come at `rate` a second, up to `capacity`."""

    def __init__(
        self,
        rate: float,
        capacity: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be positive and capacity at least 1")
        self.rate, self.capacity = rate, capacity
        self._clock, self._sleep = clock, sleep
        self._tokens = float(capacity)
        self._last = clock()

    def acquire(self, count: int = 1) -> None:
        """Wait (through `sleep`) until `count` tokens are available, then take them."""
        if not 1 <= count <= self.capacity:
            raise ValueError(f"cannot take {count} tokens from a bucket of {self.capacity}")
        while True:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= count:
                self._tokens -= count
                return
            self._sleep((count - self._tokens) / self.rate)
