"""The `tenants` scenario's figures (issue 23), from the ledgers of its three phases.

- `small_idle_p95_ms`: how long the small tenants' photos took, p95, with no burst anywhere: from
  the app asking for the upload's form to its variants existing (the manifest's `processedAt`),
  the wait issue 23 measured ("before its variants existed");
- `small_p95_ms`: the same, for the small photos asked for while the burst drained;
- `burst_drain_vs_alone`: the burst's drain alone over its drain beside the small tenants, so 1.0
  means the small tenants cost the burst nothing.

A burst drains, as docs/loadtest.md judges one, from its last upload landing to its last manifest:
while its photos are still being sent, the moto server takes in every body (2.6 GB for 1,000
phone photos) on the same two cores as everything else, which S3 never does to anyone's uploads.
What the small tenants saw in that upload phase, and the e2e their app saw (its polling's waits,
0.5 s, 0.75 s, 1.1 s ..., round every wait up to the next poll), are printed beside the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadtest.load.report import percentile
from loadtest.load.tracker import Upload


@dataclass(frozen=True)
class Window:
    """A stretch of a run (epoch seconds)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        """How long it lasted."""
        return max(0.0, self.end - self.start)

    def holds(self, upload: Upload) -> bool:
        """True for an upload asked for within it."""
        return self.start <= upload.started <= self.end


def _last_end(uploads: list[Upload]) -> float | None:
    ends = [end for u in uploads if (end := u.ended_at) is not None]
    return max(ends) if ends else None


def burst_window(burst: list[Upload]) -> Window:
    """The whole burst: its first ask to its last manifest."""
    end = _last_end(burst)
    return Window(min(u.started for u in burst), end) if burst and end is not None else Window(0.0, 0.0)


def drain_window(burst: list[Upload]) -> Window:
    """The burst's drain: its last upload landing (transfer ended) to its last manifest."""
    end = _last_end(burst)
    if not burst or end is None:
        return Window(0.0, 0.0)
    return Window(max(u.put_started + u.put_ms / 1000 for u in burst), end)


def complete(uploads: list[Upload]) -> list[Upload]:
    """The uploads that ended complete (poison and lost ones say nothing about waiting)."""
    return [u for u in uploads if u.outcome == "complete"]


def waited_p95(uploads: list[Upload]) -> float:
    """p95 of ask -> variants exist (ms): what the pipeline made the tenant wait."""
    return percentile([ms for u in complete(uploads) if (ms := u.pipeline_ms) is not None], 0.95)


def seen_p95(uploads: list[Upload]) -> float:
    """p95 of ask -> the app seeing the final status (ms): the wait plus its polling's rounding."""
    return percentile([u.e2e_ms for u in complete(uploads) if u.e2e_ms is not None], 0.95)


@dataclass(frozen=True)
class TenantFigures:
    """What the three phases came to."""

    idle: list[Upload]  # the small tenants with no burst (before it and after it, together)
    alone: list[Upload]  # the burst on its own
    burst: list[Upload]  # the burst beside the small tenants
    small: list[Upload]  # the small tenants beside the burst
    lost: int = 0
    alone_again: list[Upload] = field(default_factory=list)  # the burst on its own once more, after

    @property
    def alone_drain_s(self) -> float:
        """The burst's drain on its own: the mean of its runs before and after the one beside the
        small tenants, so a machine that got busier or quieter meanwhile does not count as their doing."""
        runs = [drain_window(run).seconds for run in (self.alone, self.alone_again) if run]
        return sum(runs) / len(runs) if runs else 0.0

    @property
    def during(self) -> list[Upload]:
        """The small uploads asked for while the burst drained."""
        window = drain_window(self.burst)
        return [u for u in self.small if window.holds(u)]

    @property
    def landing(self) -> list[Upload]:
        """The small uploads asked for while the burst was still being sent."""
        whole, drain = burst_window(self.burst), drain_window(self.burst)
        return [u for u in self.small if whole.start <= u.started < drain.start]

    @property
    def small_ratio(self) -> float:
        """small_p95_ms over small_idle_p95_ms."""
        idle = waited_p95(self.idle)
        return waited_p95(self.during) / idle if idle else 0.0

    @property
    def drain_vs_alone(self) -> float:
        """The burst's drain alone over its drain beside the small tenants."""
        beside = drain_window(self.burst).seconds
        return self.alone_drain_s / beside if beside else 0.0

    def small_done_before_burst(self) -> bool:
        """True when every small upload asked for in the first half of the burst's drain ended before
        the burst did (on one queue each waits behind the whole backlog, so ends after it; one asked
        for in its last moments may end just after it either way)."""
        drain = drain_window(self.burst)
        half = Window(drain.start, drain.start + drain.seconds / 2)
        ends = [u.ended_at for u in self.small if half.holds(u)]
        return bool(ends) and all(done is not None and done < drain.end for done in ends)

    def line(self) -> str:
        """The line the scenario ends with."""
        small, idle = waited_p95(self.during), waited_p95(self.idle)
        return (
            f"tenants: small_p95_ms={small:.0f} small_idle_p95_ms={idle:.0f}"
            f" small_ratio={self.small_ratio:.2f} burst_drain_vs_alone={self.drain_vs_alone:.2f}"
            f" lost={self.lost}"
        )

    def details(self) -> list[str]:
        """How each phase went: the windows, the upload phase, and what the apps saw with polling."""
        drain, whole = drain_window(self.burst), burst_window(self.burst)
        alone = [
            f"{drain_window(run).start - burst_window(run).start:.1f}s + {drain_window(run).seconds:.1f}s"
            for run in (self.alone, self.alone_again)
            if run
        ]
        whole_alone = sum(burst_window(run).seconds for run in (self.alone, self.alone_again) if run) / max(
            1, len(alone)
        )
        return [
            f"idle: {len(complete(self.idle))} small photos complete, waited p95"
            f" {waited_p95(self.idle):.0f} ms (the app saw {seen_p95(self.idle):.0f} ms)",
            f"burst alone (landed + drained): {', then '.join(alone)}; mean drain {self.alone_drain_s:.1f}s",
            f"burst with the small tenants: {len(complete(self.burst))} complete; landed in"
            f" {drain.start - whole.start:.1f}s, drained in {drain.seconds:.1f}s more"
            f" (whole burst vs alone {whole_alone / whole.seconds if whole.seconds else 0:.2f})",
            f"small photos while it drained: {len(complete(self.during))}, waited p95"
            f" {waited_p95(self.during):.0f} ms (the app saw {seen_p95(self.during):.0f} ms); all done before"
            f" the burst: {'yes' if self.small_done_before_burst() else 'no'}",
            f"small photos while it was being sent: {len(complete(self.landing))}, waited p95"
            f" {waited_p95(self.landing):.0f} ms (the moto server taking in the burst's bodies)",
        ]
