"""The router's figures from its logs, written here in the shapes the router process writes them:
the Powertools EMF line of each invocation, the poller's REPORT line, and the lines around them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.local.poller import REPORT
from loadtest.load import router_figures
from loadtest.load.router_figures import Invocation, heads, parse_duration, parse_metrics, read

pytestmark = pytest.mark.unit

T0 = 1_796_620_470_000  # epoch ms
BOTOCORE = "2026-12-07 05:14:23,212 botocore.credentials INFO Found credentials in environment variables."


def emf(at_ms: int, **metrics: list[float]) -> str:
    """One invocation's metrics line, as `metrics.log_metrics` prints it."""
    units = {"RoutedAfterMs": "Milliseconds"}
    declared = [{"Name": name, "Unit": units.get(name, "Count")} for name in metrics]
    block = {"Timestamp": at_ms, "CloudWatchMetrics": [
        {"Namespace": "imgpipe", "Dimensions": [["service"]], "Metrics": declared}
    ]}  # fmt: skip
    return json.dumps({"_aws": block, "service": "imgpipe", **metrics}, separators=(",", ":"))


def report(ms: float, records: int, request_id: str = "3f1c2a5e-0b7d-4c1e-9a55-2d4e8f6a7b90") -> str:
    """The poller's REPORT line, through the logging format the router process uses."""
    return f"2026-12-07 05:14:24,001 imgpipe.poller INFO {REPORT % (request_id, ms, records)}"


def report_json(ms: float, records: int, request_id: str = "e9810324-03d0-4c66-8a3e-28ef23a9db5b") -> str:
    """The same line once Powertools' logger formats the process's loggers (as the router's does)."""
    return json.dumps({
        "level": "INFO", "location": "invoke:125", "message": REPORT % (request_id, ms, records),
        "timestamp": "2026-12-07 05:33:06,127+0000", "service": "imgpipe", "cold_start": True,
        "function_name": "imgpipe-worker", "function_request_id": request_id,
    }, separators=(",", ":"))  # fmt: skip


def write(path: Path, lines: list[str]) -> None:
    with path.open("a") as file:
        file.write("".join(line + "\n" for line in lines))


def test_a_metrics_line_is_one_invocation() -> None:
    line = emf(T0, RoutedInteractive=[2.0], RoutedBulk=[7.0], RoutedAfterMs=[52.4, 35.4] + [900.0] * 7)
    assert parse_metrics(line) == Invocation(T0, 2, 7, 0, 0, (52.4, 35.4) + (900.0,) * 7)
    failed = parse_metrics(emf(T0, RouteRetried=[3.0], RouteQuarantined=[1.0]))
    assert failed is not None and (failed.retried, failed.quarantined, failed.records) == (3, 1, 4)


@pytest.mark.parametrize(
    "line",
    [
        BOTOCORE,
        report(12.0, 1),
        report_json(12.0, 1),
        '{"level":"ERROR","message":"records quarantined to the router\'s DLQ","count":1}',  # its logger
        "{not json",
    ],
)
def test_other_lines_are_no_invocation(line: str) -> None:
    assert parse_metrics(line) is None


def test_the_report_line_gives_the_duration() -> None:
    assert parse_duration(report(12.34, 10)) == 12.34
    assert parse_duration(report(1503.5, 1)) == 1503.5
    assert parse_duration(report_json(81.98, 1)) == 81.98
    assert parse_duration(BOTOCORE) is None


def test_sqs_calls_of_an_invocation() -> None:
    # the mapping's receive and delete, then a send per lane and 10 records
    assert Invocation(T0, interactive=3, bulk=12).sqs_calls() == 1 + 1 + 1 + 2
    assert Invocation(T0, bulk=10).sqs_calls() == 1 + 1 + 1
    # nothing settled: no delete; its retries made visible sooner in one call
    assert Invocation(T0, retried=2).sqs_calls() == 1 + 1
    # a quarantine is a send of its own, and deleted with the rest
    assert Invocation(T0, quarantined=1).sqs_calls() == 1 + 1 + 1


def test_a_bulk_tenant_is_headed_only_until_it_is_over_its_rate() -> None:
    # Given 45 bulk records in the first minute, then 5 more a minute and a half later
    batches = [Invocation(T0 + i * 1000, bulk=9) for i in range(5)]
    batches += [Invocation(T0 + 150_000, bulk=5, interactive=2)]
    # Then the first 30 were HEADed, the 5 after the quiet minute, and every interactive one
    assert heads(batches, per_minute=30) == 30 + 5 + 2
    assert heads(batches, per_minute=0) == 45 + 5 + 2  # the rule off: a HEAD decides every upload
    # and two bulk tenants sharing those records are each HEADed for their own first 30
    assert heads(batches, per_minute=30, bulk_tenants=2) == 45 + 5 + 2
    assert heads(batches, per_minute=20, bulk_tenants=2) == 40 + 5 + 2


def test_figures_over_two_router_logs(tmp_path: Path) -> None:
    # Given two router processes' logs, each with its start-up lines and its invocations
    write(tmp_path / "router-0.log", [
        BOTOCORE,
        emf(T0, RoutedInteractive=[1.0], RoutedAfterMs=[20.0]),
        report(8.5, 1),
        emf(T0 + 1000, RoutedBulk=[10.0], RoutedAfterMs=[100.0] * 10),
        report(40.2, 10),
    ])  # fmt: skip
    write(tmp_path / "router-1.log", [
        BOTOCORE,
        emf(T0 + 500, RoutedInteractive=[1.0], RoutedBulk=[2.0], RouteRetried=[1.0],
            RoutedAfterMs=[30.0, 3000.0, 3000.0]),
        report_json(20.0, 4),
    ])  # fmt: skip
    (tmp_path / "worker-0.log").write_text(emf(T0, RoutedBulk=[99.0]) + "\n")  # not a router's
    # When they are read
    figures = read(tmp_path)
    # Then every record is counted once, by lane
    assert (figures.interactive, figures.bulk, figures.routed) == (2, 12, 14)
    assert len(figures.invocations) == 3
    assert figures.records_each == pytest.approx(15 / 3)
    assert sorted(figures.durations_ms) == [8.5, 20.0, 40.2]
    assert figures.heads == 2 + 12  # nobody was over 30 a minute
    assert figures.line() == (
        "router: routed=14 (interactive 2, bulk 12) invocations=3 records_each=5.0"
        " hop_p50_ms=100 hop_p95_ms=3000 hop_max_ms=3000 interactive_hop_p50_ms=20"
        " interactive_hop_p95_ms=20 duration_p50_ms=20 duration_p95_ms=40 duration_max_ms=40"
        " heads=14 retried=1 quarantined=0"
    )
    # and the bill's inputs: 3 + 3 + 5 SQS calls, the durations rounded up to the ms
    usage = figures.usage()
    assert (usage.uploads, usage.invocations, usage.sqs_calls, usage.heads) == (14, 3, 11, 14)
    assert (usage.billed_ms, usage.reported) == (9 + 20 + 41, 3)


def test_a_run_reads_only_what_was_written_after_its_mark(tmp_path: Path) -> None:
    # Given a log holding an earlier run's invocation
    log = tmp_path / "router-0.log"
    write(log, [BOTOCORE, emf(T0, RoutedBulk=[10.0], RoutedAfterMs=[5.0] * 10), report(30.0, 10)])
    since = router_figures.mark(tmp_path)
    # When this run appends its own
    write(log, [emf(T0 + 9000, RoutedInteractive=[1.0], RoutedAfterMs=[7.0]), report(11.0, 1)])
    # Then only this run's is counted
    figures = read(tmp_path, since)
    assert (figures.routed, len(figures.invocations), figures.durations_ms) == (1, 1, [11.0])


def test_no_router_no_lines(tmp_path: Path) -> None:
    # lanes off (no router log), a target without local logs, or a router that routed nothing
    assert router_figures.lines(tmp_path / "missing") == []
    (tmp_path / "router-0.log").write_text(BOTOCORE + "\n")
    assert router_figures.lines(tmp_path) == []


def test_the_run_ends_with_the_router_and_its_cost(tmp_path: Path) -> None:
    write(tmp_path / "router-0.log", [emf(T0, RoutedInteractive=[1.0], RoutedAfterMs=[20.0]), report(8.5, 1)])
    found = router_figures.lines(tmp_path)
    assert [line.split(":", 1)[0] for line in found] == ["router", "router_cost"]
