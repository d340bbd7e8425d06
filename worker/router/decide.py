"""Which lane an upload takes: its tenant's recent rate first, then the client API's mark.

A tenant that has sent more than `per_minute` uploads in the last minute, through whatever call
(the batch call, a loop over the single-upload call, the operator's `imgpipe upload`), is bulk
until it slows down: its uploads go to the bulk lane without a HEAD, so a burst costs the router
one HEAD per upload for its first minute's `per_minute` only. Below that rate, an upload signed by
the batch call carries `imgpipe-lane: bulk` in its metadata (read with a HEAD) and goes bulk; any
other goes interactive. So a tenant's own single photos wait behind its own burst, never behind
anyone else's.

The count lives in the router process (one per warm Lambda instance), so on AWS each instance sees
its share of a tenant's uploads: the threshold is per instance, which the router's small maximum
concurrency keeps close to the whole.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from shared.lanes import BULK, INTERACTIVE, Lane

WINDOW_S = 60.0
MAX_TENANTS = 10_000  # tenants remembered at once; the quietest are forgotten first


class TenantRates:
    """Uploads per tenant over the last minute, in this process."""

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


def choose(marks: list[Lane | None], over_rate: bool) -> Lane:
    """The lane of one message, from its tenant's rate and the marks of the uploads it names (none
    read when the tenant is over its rate). A message with no tenant (not an upload event) takes
    the interactive lane, where the worker answers it (acknowledges a test event, quarantines a
    malformed one) at once."""
    return BULK if over_rate or BULK in marks else INTERACTIVE
