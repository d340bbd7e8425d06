"""What the router did in a local run, from its logs (`<out>/logs/router-N.log`): issue 23's
"added latency and cost per million uploads measured".

Two kinds of lines, each as the router writes it on Lambda:
- the EMF metrics line of each invocation (stdout): `RoutedInteractive`/`RoutedBulk` counts,
  `RoutedAfterMs` (each routed record's age when the router sent it on: work-queue SentTimestamp ->
  sent to its lane, so the hop's latency with any wait on the work queue in it), `RouteRetried`,
  `RouteQuarantined`;
- the poller's `REPORT RequestId: .. Duration: 12.34 ms Records: 10` (stderr), Lambda's own line,
  the router's duration per invocation (absent from logs written before the poller logged it).

The log files are appended to, so a run reads each from where it stood when the run began (`mark`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.load import router_cost
from loadtest.load.report import percentile
from worker.router.decide import TenantRates
from worker.router.settings import RouterSettings

LOGS = "router-*.log"  # deploy.local.lanes.ROUTER_LOG, one per router process
REPORT = re.compile(r"REPORT RequestId: \S+ Duration: (?P<ms>\d+(?:\.\d+)?) ms Records: (?P<records>\d+)")
PER_MINUTE = int(RouterSettings.model_fields["router_bulk_per_minute"].default)
Offsets = Mapping[str, int]


@dataclass(frozen=True)
class Invocation:
    """One invocation's metrics line."""

    at_ms: int  # when its metrics were flushed (the EMF Timestamp, epoch ms)
    interactive: int = 0
    bulk: int = 0
    retried: int = 0
    quarantined: int = 0
    ages_ms: tuple[float, ...] = ()

    @property
    def records(self) -> int:
        """Records in its batch: each one routed, retried or quarantined."""
        return self.interactive + self.bulk + self.retried + self.quarantined

    def sqs_calls(self) -> int:
        """SQS API calls it cost: the mapping's receive and delete, a SendMessageBatch per lane and
        10 records, a ChangeMessageVisibilityBatch for its retries, a SendMessage per quarantine
        (a send that failed outright is not in the line, so not counted)."""
        sends = -(-self.interactive // 10) + -(-self.bulk // 10)
        settled = self.interactive + self.bulk + self.quarantined
        return 1 + (1 if settled else 0) + sends + (1 if self.retried else 0) + self.quarantined


def parse_metrics(line: str) -> Invocation | None:
    """The router's EMF line as an `Invocation`; None for any other line."""
    if not line.startswith("{"):
        return None
    try:
        found = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(found, dict) or "_aws" not in found:
        return None

    def count(name: str) -> int:
        return round(sum(_values(found.get(name))))

    return Invocation(
        at_ms=int(found["_aws"].get("Timestamp", 0)),
        interactive=count("RoutedInteractive"),
        bulk=count("RoutedBulk"),
        retried=count("RouteRetried"),
        quarantined=count("RouteQuarantined"),
        ages_ms=tuple(_values(found.get("RoutedAfterMs"))),
    )


def _values(value: Any) -> list[float]:
    # Powertools writes each metric's values as a list; a single value may come bare
    if value is None:
        return []
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def parse_duration(line: str) -> float | None:
    """The Duration (ms) of a poller's REPORT line; None for any other line."""
    found = REPORT.search(line)
    return float(found["ms"]) if found else None


def heads(invocations: Iterable[Invocation], per_minute: int = PER_MINUTE, bulk_tenants: int = 1) -> int:
    """The HEADs one router process made, replaying its rule (worker.router.decide) on its
    invocations in order: every record routed interactive had one (its tenant was under its rate);
    a bulk record had one only while its tenant was not yet over `per_minute`. The metrics line
    does not name tenants: the bulk records are dealt in turn to `bulk_tenants` tenants (the
    tenants scenario's burst is one tenant; the burst scenario's clients are a tenant each)."""
    now = [0.0]
    rates = TenantRates(per_minute, clock=lambda: now[0])
    made, dealt = 0, 0
    for invocation in invocations:
        now[0] = invocation.at_ms / 1000
        made += invocation.interactive
        for _ in range(invocation.bulk):
            made += 0 if rates.over(f"bulk-{dealt % max(1, bulk_tenants)}") else 1
            dealt += 1
    return made


@dataclass(frozen=True)
class RouterFigures:
    """The router's share of one run, over all its processes."""

    invocations: list[Invocation] = field(default_factory=list)
    durations_ms: list[float] = field(default_factory=list)  # one per REPORT line
    heads: int = 0

    @property
    def interactive(self) -> int:
        """Records sent to the interactive lane."""
        return sum(i.interactive for i in self.invocations)

    @property
    def bulk(self) -> int:
        """Records sent to the bulk lane."""
        return sum(i.bulk for i in self.invocations)

    @property
    def routed(self) -> int:
        """Records sent to a lane."""
        return self.interactive + self.bulk

    @property
    def records_each(self) -> float:
        """Records per invocation, mean."""
        return sum(i.records for i in self.invocations) / len(self.invocations) if self.invocations else 0.0

    def usage(self) -> router_cost.Usage:
        """What the bill is made of."""
        billed = router_cost.billed_ms(self.durations_ms) if self.durations_ms else None
        calls = sum(i.sqs_calls() for i in self.invocations)
        reported = len(self.durations_ms)
        return router_cost.Usage(self.routed, len(self.invocations), billed, reported, calls, self.heads)

    def line(self) -> str:
        """`router: routed=.. (interactive .., bulk ..) invocations=.. records_each=.. hop_.. duration_..`."""
        hops = [age for i in self.invocations for age in i.ages_ms]
        # a single photo's hop: from batches that held no bulk record (the ages are not per lane)
        alone = [age for i in self.invocations if not i.bulk for age in i.ages_ms]
        durations = self.durations_ms

        def ms(values: list[float], share: float) -> str:
            return f"{percentile(values, share):.0f}" if values else "n/a"

        return (
            f"router: routed={self.routed} (interactive {self.interactive}, bulk {self.bulk})"
            f" invocations={len(self.invocations)} records_each={self.records_each:.1f}"
            f" hop_p50_ms={ms(hops, 0.5)} hop_p95_ms={ms(hops, 0.95)} hop_max_ms={ms(hops, 1.0)}"
            f" interactive_hop_p50_ms={ms(alone, 0.5)} interactive_hop_p95_ms={ms(alone, 0.95)}"
            f" duration_p50_ms={ms(durations, 0.5)} duration_p95_ms={ms(durations, 0.95)}"
            f" duration_max_ms={ms(durations, 1.0)} heads={self.heads}"
            f" retried={sum(i.retried for i in self.invocations)}"
            f" quarantined={sum(i.quarantined for i in self.invocations)}"
        )


def mark(log_dir: Path) -> dict[str, int]:
    """Where each router log ends now: a run reads only what is written after."""
    return {path.name: path.stat().st_size for path in sorted(log_dir.glob(LOGS))}


def read(log_dir: Path, since: Offsets | None = None, bulk_tenants: int = 1) -> RouterFigures:
    """The figures of every router log in `log_dir`, each read from its offset in `since`, the
    bulk records taken as `bulk_tenants` tenants' (`heads`)."""
    invocations: list[Invocation] = []
    durations: list[float] = []
    made = 0
    for path in sorted(log_dir.glob(LOGS)):
        lines = _tail(path, (since or {}).get(path.name, 0)).splitlines()
        mine = [found for line in lines if (found := parse_metrics(line)) is not None]
        durations += [ms for line in lines if (ms := parse_duration(line)) is not None]
        invocations += mine
        made += heads(mine, PER_MINUTE, bulk_tenants)
    return RouterFigures(invocations, durations, made)


def _tail(path: Path, offset: int) -> str:
    with path.open("rb") as file:
        if offset <= path.stat().st_size:  # a log shorter than its mark was replaced: read it all
            file.seek(offset)
        return file.read().decode(errors="replace")


def lines(log_dir: Path, since: Offsets | None = None, bulk_tenants: int = 1) -> list[str]:
    """The `router:` and `router_cost:` lines of a run; none when no router ran (lanes off, AWS)."""
    figures = read(log_dir, since, bulk_tenants) if log_dir.is_dir() else RouterFigures()
    if not figures.invocations:
        return []
    return [figures.line(), router_cost.estimate(figures.usage()).line()]
