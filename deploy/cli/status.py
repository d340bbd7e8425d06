"""`imgpipe status`: how the pipeline is doing right now (queue, in flight, results, DLQ), and,
in a deployment with lanes, each lane's queue and the router's DLQ."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from deploy.cli.common import (
    Command,
    DlqUrl,
    Json,
    OutputBucket,
    QueueUrl,
    aws_errors,
    clients,
    console,
    fail,
    stop_on_signals,
    warn,
)
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable, literal

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

    from deploy.ops.lanes import LaneUrls
    from deploy.ops.status import Status


def status(
    output_bucket: OutputBucket = "imgpipe-output",
    queue_url: QueueUrl = "",
    dlq_url: DlqUrl = "",
    json_out: Json = False,
    watch: Annotated[bool, typer.Option("--watch", help="refresh until Ctrl-C")] = False,
    interval: Annotated[float, typer.Option(min=1, max=3600, metavar="SECONDS", help="with --watch")] = 5,
    interactive_queue_url: Annotated[
        str, typer.Option(envvar="IMGPIPE_INTERACTIVE_QUEUE_URL", metavar="URL", help="the interactive lane")
    ] = "",
    bulk_queue_url: Annotated[
        str, typer.Option(envvar="IMGPIPE_BULK_QUEUE_URL", metavar="URL", help="the bulk lane")
    ] = "",
    router_dlq_url: Annotated[
        str, typer.Option(envvar="IMGPIPE_ROUTER_DLQ_URL", metavar="URL", help="the router's DLQ")
    ] = "",
) -> None:
    """Queue depth, in flight, DLQ by error type, images complete and failed.

    The DLQ is read in full (every message, each hidden for a moment). --json: {"queue": {"visible",
    "inFlight", "delayed"}, "dlq": {"visible", "inFlight", "delayed", "total", "byErrorType": {TYPE: n},
    "read": {"seen", "complete", "stoppedBy", "approximateAtStart"}}, "images": {"complete", "failed",
    "sampled"}, "lanes": null | {"interactive": DEPTH, "bulk": DEPTH, "routerDlq": null | DEPTH +
    {"total", "byErrorType", "read"}}}, DEPTH being {"visible", "inFlight", "delayed"}; the lanes are
    shown when both lane URLs are set (docs/fairness.md).
    """
    if not queue_url or not dlq_url:
        raise fail("set --queue-url and --dlq-url (or IMGPIPE_QUEUE_URL / IMGPIPE_DLQ_URL)", 2)
    lanes = _lanes(interactive_queue_url, bulk_queue_url, router_dlq_url)
    if watch and json_out:
        raise fail("--watch is for a terminal; for scripts, run `status --json` when needed", 2)
    if watch:
        stop_on_signals()  # before anything is read: a stop asked for at any time is honoured
    with aws_errors():
        s3, sqs = clients()
        if watch:
            return _watch(
                lambda: _table(_snapshot(s3, sqs, output_bucket, queue_url, dlq_url, lanes)), interval
            )
        now = _snapshot(s3, sqs, output_bucket, queue_url, dlq_url, lanes)
    if json_out:
        return print_json(now.as_json())
    show(_table(now))
    if now.sampled:
        console.print("(manifest counts sampled from the first 10,000)")
    if (warning := now.dlq_read.warning()) is not None:
        warn(f"DLQ breakdown {warning}")
    router_read = now.lanes.router_dlq_read if now.lanes is not None else None
    if router_read is not None and (warning := router_read.warning()) is not None:
        warn(f"router DLQ breakdown {warning}")


def _lanes(interactive: str, bulk: str, router_dlq: str) -> LaneUrls | None:
    """The lanes to show: both lanes' URLs, or neither (a usage error otherwise)."""
    from deploy.ops.lanes import LaneUrls

    if bool(interactive) != bool(bulk):
        raise fail("set both --interactive-queue-url and --bulk-queue-url, or neither", 2)
    return LaneUrls(interactive, bulk, router_dlq or None) if interactive else None


def _snapshot(
    s3: S3Client, sqs: SQSClient, bucket: str, queue_url: str, dlq_url: str, lanes: LaneUrls | None
) -> Status:
    from deploy.ops.status import snapshot

    return snapshot(s3, sqs, bucket, queue_url, dlq_url, lanes)


def _table(now: Status) -> Table:
    # Error types come from message attributes anyone who can send to the DLQ sets: cells are literal.
    table = DataTable("what", "count", title="imgpipe status")
    table.add_row("queued", str(now.queue.visible + now.queue.delayed))
    table.add_row("in flight", str(now.queue.in_flight))
    for lane, depth in now.lanes.lanes.items() if now.lanes is not None else ():
        table.add_row(f"{lane} lane: queued", str(depth.visible + depth.delayed))
        table.add_row(f"{lane} lane: in flight", str(depth.in_flight))
    table.add_row("images complete", str(now.manifests.get("complete", 0)))
    table.add_row("images failed", str(now.manifests.get("failed", 0)))
    table.add_row("quarantined (DLQ)", str(now.dlq.visible + now.dlq.in_flight + now.dlq.delayed))
    for error_type, count in now.dlq_by_error.most_common():
        table.add_row(f"  {error_type}", str(count))
    if now.lanes is not None and (dlq := now.lanes.router_dlq) is not None:
        table.add_row("router DLQ", str(dlq.visible + dlq.in_flight + dlq.delayed))
        for error_type, count in now.lanes.router_dlq_by_error.most_common():
            table.add_row(f"  {error_type}", str(count))
    if not now.dlq_read.complete:
        table.caption = literal("DLQ breakdown " + (now.dlq_read.warning() or ""))
    return table


def _watch(render: Callable[[], Table], interval: float) -> None:
    """Redraw until Ctrl-C (or SIGTERM); either ends the command cleanly, exit 0."""
    from rich.live import Live

    try:
        with Live(render(), console=console, auto_refresh=False, transient=False) as live:
            while True:
                time.sleep(interval)
                live.update(render(), refresh=True)
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    """Add `imgpipe status` to the app."""
    app.command(cls=Command)(status)
