"""Which lane an upload takes: the client API's mark first, then its tenant's recent rate.

An upload signed by the batch call carries `imgpipe-lane: bulk` in its metadata; one with no mark
(a single upload, the operator's `imgpipe upload`, an event re-queued by hand) goes bulk only when
its tenant has sent more than `per_minute` unmarked uploads in the last minute, so a tenant that
loops the single-upload call cannot jump the bulk lane. The count lives in the router process
(one per warm Lambda instance), so on AWS each instance sees its share of a tenant's uploads: the
threshold is per instance, which the router's small maximum concurrency keeps close to the whole.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from shared.lanes import BULK, INTERACTIVE, Lane

WINDOW_S = 60.0
MAX_TENANTS = 10_000  # tenants remembered at once; the quietest are forgotten first


class TenantRates:
    """Unmarked uploads per tenant over the last minute, in this process."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._seen: dict[str, deque[float]] = {}

    def count(self, tenant: str) -> int:
        """Record one upload of `tenant` now; how many it sent in the last minute, this one included."""
        now = self.clock()
        seen = self._seen.pop(tenant, None) or deque()
        while seen and seen[0] <= now - WINDOW_S:
            seen.popleft()
        seen.append(now)
        self._seen[tenant] = seen  # re-inserted: the dict's order is least recently seen first
        if len(self._seen) > MAX_TENANTS:
            del self._seen[next(iter(self._seen))]
        return len(seen)

    def over(self, tenant: str) -> bool:
        """Record one upload; True when the tenant is now over its rate (never, with the rule off)."""
        return self.per_minute > 0 and self.count(tenant) > self.per_minute


def choose(marks: list[Lane | None], tenant: str | None, rates: TenantRates) -> Lane:
    """The lane of one message, from the marks of the uploads it names and its tenant.

    Any upload marked bulk makes the message bulk; otherwise an unmarked upload is counted against
    its tenant's rate. A message with no tenant (not an upload event) takes the interactive lane,
    where the worker answers it (acknowledges a test event, quarantines a malformed one) at once.
    """
    if BULK in marks:
        return BULK
    if tenant is not None and rates.over(tenant):
        return BULK
    return INTERACTIVE
