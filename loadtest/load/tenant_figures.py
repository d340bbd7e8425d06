"""The `tenants` scenario's figures (issue 23), from the ledgers of its three phases.

- `small_idle_p95_ms`: the small tenants' e2e p95 (asking for the form -> seeing the final status,
  as their app does) with no burst anywhere;
- `small_p95_ms`: the same uploads' p95 while one tenant's burst drains: the small uploads asked
  for between the burst's first ask and its last manifest;
- `burst_drain_vs_alone`: the burst's drain alone over its drain beside the small tenants (first
  ask -> last manifest, `processedAt`), so 1.0 means the small tenants cost the burst nothing.

`small_ratio` = small_p95_ms / small_idle_p95_ms. Beside the e2e figures the runner prints the
pipeline's own (ask -> `processedAt`, without the client's polling), which polling's waits
(0.5, 0.75, 1.1 s ...) round up.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadtest.load.report import percentile
from loadtest.load.tracker import Upload


@dataclass(frozen=True)
class Window:
    """When a burst ran: its first ask to its last manifest (epoch seconds)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        """How long it took."""
        return max(0.0, self.end - self.start)

    def holds(self, upload: Upload) -> bool:
        """True for an upload asked for while the burst was not yet drained."""
        return self.start <= upload.started <= self.end


def burst_window(burst: list[Upload]) -> Window:
    """The burst's first ask to its last manifest (of the uploads that ended)."""
    ends = [end for u in burst if (end := u.ended_at) is not None]
    if not burst or not ends:
        return Window(0.0, 0.0)
    return Window(min(u.started for u in burst), max(ends))


def complete(uploads: list[Upload]) -> list[Upload]:
    """The uploads that ended complete (poison and lost ones say nothing about waiting)."""
    return [u for u in uploads if u.outcome == "complete"]


def e2e_p95(uploads: list[Upload]) -> float:
    """p95 of what the client waited (ms)."""
    return percentile([u.e2e_ms for u in complete(uploads) if u.e2e_ms is not None], 0.95)


def pipeline_p95(uploads: list[Upload]) -> float:
    """p95 of ask -> manifest (ms), without the client's polling."""
    return percentile([ms for u in complete(uploads) if (ms := u.pipeline_ms) is not None], 0.95)


@dataclass(frozen=True)
class TenantFigures:
    """What the three phases came to."""

    idle: list[Upload]  # the small tenants with no burst
    alone: list[Upload]  # the burst on its own
    burst: list[Upload]  # the burst beside the small tenants
    small: list[Upload]  # the small tenants beside the burst
    lost: int = 0

    @property
    def during(self) -> list[Upload]:
        """The small uploads asked for while the burst drained."""
        window = burst_window(self.burst)
        return [u for u in self.small if window.holds(u)]

    @property
    def small_ratio(self) -> float:
        """small_p95_ms over small_idle_p95_ms."""
        idle = e2e_p95(self.idle)
        return e2e_p95(self.during) / idle if idle else 0.0

    @property
    def drain_vs_alone(self) -> float:
        """The burst's drain alone over its drain beside the small tenants."""
        beside = burst_window(self.burst).seconds
        return burst_window(self.alone).seconds / beside if beside else 0.0

    def small_done_before_burst(self) -> bool:
        """True when every small upload asked for during the burst ended before the burst did."""
        window = burst_window(self.burst)
        ends = [u.ended_at for u in self.during]
        return bool(ends) and all(end is not None and end < window.end for end in ends)

    def line(self) -> str:
        """The line the scenario ends with."""
        return (
            f"tenants: small_p95_ms={e2e_p95(self.during):.0f} small_idle_p95_ms={e2e_p95(self.idle):.0f}"
            f" small_ratio={self.small_ratio:.2f} burst_drain_vs_alone={self.drain_vs_alone:.2f}"
            f" lost={self.lost}"
        )

    def details(self) -> list[str]:
        """How each phase went, the pipeline's own waits beside the client's."""
        alone, beside = burst_window(self.alone), burst_window(self.burst)
        return [
            f"idle: {len(complete(self.idle))} small uploads complete, e2e p95 {e2e_p95(self.idle):.0f} ms"
            f" (pipeline {pipeline_p95(self.idle):.0f} ms)",
            f"burst alone: {len(complete(self.alone))} complete, drained in {alone.seconds:.1f}s",
            f"burst with the small tenants: {len(complete(self.burst))} complete, drained in"
            f" {beside.seconds:.1f}s; {len(complete(self.during))} small uploads during it, e2e p95"
            f" {e2e_p95(self.during):.0f} ms (pipeline {pipeline_p95(self.during):.0f} ms);"
            f" all done before the burst: {'yes' if self.small_done_before_burst() else 'no'}",
        ]
