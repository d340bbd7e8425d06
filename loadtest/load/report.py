"""The figures a load run ends with: drain throughput, e2e percentiles, the headline and its line."""

from __future__ import annotations

import math
from dataclasses import dataclass

from loadtest.load.ledger import Ledger
from loadtest.load.tracker import Upload


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Drain:
    """How fast the finished uploads came out, from the first transfer to the last manifest."""

    images: int
    seconds: float

    @property
    def per_s(self) -> float:
        """Images per second over the drain."""
        return self.images / self.seconds if self.seconds > 0 else 0.0


def drain(uploads: list[Upload]) -> Drain:
    """The drain of the uploads that completed (quarantines are cheap and would flatter it)."""
    ends = _complete_ends(uploads)
    if not ends:
        return Drain(0, 0.0)
    first = min(u.put_started for u in uploads)
    return Drain(len(ends), max(ends) - first)


def _complete_ends(uploads: list[Upload]) -> list[float]:
    # when the pipeline finished each complete image (its manifest's processedAt), not when its
    # client happened to poll: the drain is the pipeline's, not the clients' backoff
    return [end for u in uploads if u.outcome == "complete" and (end := u.ended_at) is not None]


def drain_after_uploads(uploads: list[Upload]) -> Drain:
    """The drain once every PUT has ended: the images completed after the last PUT, over the last
    PUT -> last complete manifest: what the pipeline does with the cores to itself once the
    uploads have landed (a burst's headline, `headline`)."""
    if not uploads:
        return Drain(0, 0.0)
    last_put = max(u.put_started + u.put_ms / 1000 for u in uploads)
    after = [end for end in _complete_ends(uploads) if end > last_put]
    return Drain(len(after), max(after) - last_put) if after else Drain(0, 0.0)


# A burst is judged by its drain only when it left a backlog: when at least this share of its
# complete images ended after the last PUT. Otherwise the workers kept up with the uploads and
# the few images left after the last PUT say nothing about how fast a backlog drains.
BACKLOG_SHARE = 0.5


def headline(scenario: str, whole: Drain, settling: Drain, local: bool = True) -> tuple[Drain, Drain | None]:
    """The drain a run is judged by, of its `whole` window (`drain`) and the one after its last
    PUT (`drain_after_uploads`), and the whole window beside it when that differs.

    A burst lands first and is drained after: on the local stack the uploads themselves (locust,
    and the moto server taking in every body) run on the workers' cores, which on AWS they never
    do, and `make bench` times the handler with its uploads done beforehand. So a local burst's
    figure is the drain of what is queued once the last PUT has ended, with the whole window
    beside it. The other scenarios upload while they drain by design, and a run against AWS
    shares no cores with its uploads: their figure is the whole window.
    """
    backlog = settling.images >= BACKLOG_SHARE * whole.images and settling.seconds > 0
    return (settling, whole) if scenario == "burst" and local and backlog else (whole, None)


def summary(
    ledger: Ledger,
    uploads: list[Upload],
    rate: Drain,
    engine_per_s: float,
    whole: Drain | None = None,
    asks: tuple[float, float] = (0.0, 0.0),
) -> str:
    """The one line a run ends with (`whole`: the drain with the uploads, when `rate` is without;
    `asks`: p50 and p95 ms of the call that handed out the upload forms, from locust's stats)."""
    e2e = [u.e2e_ms for u in uploads if u.e2e_ms is not None and u.outcome != "lost"]

    def ratio(of: Drain) -> float:
        return of.per_s / engine_per_s if engine_per_s else 0.0

    return (
        f"loadtest: uploaded={ledger.uploaded} complete={ledger.complete} quarantined={ledger.quarantined}"
        f" lost={len(ledger.lost)} drain_images_per_s={rate.per_s:.2f} e2e_p50_ms={percentile(e2e, 0.5):.0f}"
        f" e2e_p95_ms={percentile(e2e, 0.95):.0f} upload_url_p50_ms={asks[0]:.0f}"
        f" upload_url_p95_ms={asks[1]:.0f} drain_vs_engine={ratio(rate):.2f}"
        + (f" with_uploads_vs_engine={ratio(whole):.2f}" if whole is not None else "")
    )
