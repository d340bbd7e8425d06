"""The invocation's deadline, and retries that respect it.

Lambda kills an invocation at its timeout and then retries the whole batch, including records
already done. So a record is not started unless it can finish, an in-flight step is not retried
past the deadline, and work cut off is reported as a failure of that record alone.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from shared.errors import RetryableError

T = TypeVar("T")
SAFETY_S = 0.5  # left for the batch response and metrics flush after the last record
NO_DEADLINE_S = 900.0  # Lambda's maximum timeout, for callers without a context


class HasRemainingTime(Protocol):
    """The part of Lambda's context the deadline needs."""

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    """A point in monotonic time by which the invocation must have answered."""

    at: float

    @classmethod
    def from_context(cls, context: HasRemainingTime | None) -> Deadline:
        """Deadline of this invocation, minus a safety margin."""
        remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else NO_DEADLINE_S
        return cls(time.monotonic() + remaining - SAFETY_S)

    def remaining_s(self) -> float:
        """Seconds left; negative once passed."""
        return self.at - time.monotonic()

    def allows(self, seconds: float) -> bool:
        """True when `seconds` of work still fit."""
        return self.remaining_s() >= seconds


class _StopBeforeDeadline(stop_base):
    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self.deadline.allows(retry_state.upcoming_sleep + 0.05)


async def retry_step(deadline: Deadline, step: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """Run a whole step again on `RetryableError`, with jittered backoff, never past the deadline."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(RetryableError),
        wait=wait_random_exponential(multiplier=0.1, max=2.0),
        stop=stop_after_attempt(attempts) | _StopBeforeDeadline(deadline),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await step()
    raise AssertionError("unreachable: tenacity re-raises the last error")
