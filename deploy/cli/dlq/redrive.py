"""`imgpipe dlq redrive`: sending quarantined messages back, ours (filtered, counted, paced) or, with
`--native`, SQS's own move task (`move_tasks`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from deploy.cli.common import (
    DlqUrl,
    Json,
    aws_errors,
    clients,
    fail,
    progress,
    say,
    stop_on_signals,
)
from deploy.cli.dlq import options as opt
from deploy.cli.dlq.move_tasks import start_move_task
from deploy.cli.output import print_json
from deploy.ops.dlq import (
    REDRIVE_LIMIT,
    DlqReader,
    RedrivePlan,
    RedriveResult,
    Selection,
    view,
)

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

To = Annotated[
    str,
    typer.Option(
        envvar="IMGPIPE_QUEUE_URL", metavar="QUEUE_URL", help="where to send them (ARN with --native)"
    ),
]
Max = Annotated[int | None, typer.Option("--max", min=1, metavar="N", help="stop after moving this many")]
Rate = Annotated[str | None, typer.Option(metavar="R/s", help="messages a second at most, e.g. 20/s")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="show what would move; move nothing")]
Limit = Annotated[int, typer.Option(min=1, metavar="N", help="hold back messages redriven this many times")]
Hold = Annotated[
    int,
    typer.Option(min=5, max=43200, metavar="SECONDS", help="how long messages read stay hidden (renewed)"),
]
Native = Annotated[bool, typer.Option("--native", help="SQS's own move task: AWS only, no filters")]


def dlq_redrive(
    dlq_url: DlqUrl = "",
    to: To = "",
    error_type: opt.Types = None,
    user: opt.Users = None,
    older_than: opt.OlderThan = None,
    most: Max = None,
    rate: Rate = None,
    dry_run: DryRun = False,
    force: Annotated[bool, typer.Option("--force", help="move messages past --redrive-limit too")] = False,
    redrive_limit: Limit = REDRIVE_LIMIT,
    hold: Hold = 60,
    native: Native = False,
    yes: opt.Yes = False,
    json_out: Json = False,
) -> None:
    """Send quarantined messages back (body and attributes unchanged), then delete them from the DLQ.

    Sends first and deletes only what was sent, so a crash duplicates at worst. Both queues are
    looked up first, dry runs too: one that does not exist is exit 1 before anything is read.
    Without a terminal it needs --yes (or --dry-run). Exit 1 when a message failed.
    --json: {"dryRun", "to", "selection": {"errorTypes", "users", "olderThanSeconds"}, "max",
    "ratePerSecond", "redriveLimit", "moved", "wouldMove", "skipped", "heldBack", "failed",
    "notDeleted", "aborted", "elapsedSeconds", "messages": [`dlq list` items], "failures":
    [{"messageId", "stage", "reason"}], "read": READ}.
    With --native: {"taskHandle", "sourceArn", "destinationArn", "maxNumberOfMessagesPerSecond"}.
    """
    selection, per_second, dlq_url = (
        opt.selection(error_type, user, older_than),
        _rate(rate),
        opt.need(dlq_url),
    )
    if native:
        filtered = selection != Selection() or most is not None or dry_run or force
        return start_move_task(dlq_url, to, per_second, filtered, yes, json_out)
    if not to or to == dlq_url:
        raise fail("set --to (or IMGPIPE_QUEUE_URL) to the queue to send messages back to (not the DLQ)", 2)
    plan = RedrivePlan(to, selection, most, per_second, dry_run, force, redrive_limit)
    result = _redrive(dlq_url, plan, hold, yes, json_out)
    if json_out:
        print_json(view.redrive_json(result))
    else:
        if dry_run:
            opt.table("would move", view.LIST_COLUMNS, [view.list_row(m) for m in result.moved])
        say("\n".join(view.redrive_summary(result)))
    if not result.ok:
        first = result.failures[0]["reason"] if result.failures else ""
        raise fail(result.aborted or f"{len(result.failures)} message(s) not moved, e.g. {first}")


def _rate(text: str | None) -> float | None:
    from deploy.ops.dlq.redrive_rate import parse_rate

    try:
        return parse_rate(text) if text is not None else None
    except ValueError as exc:
        raise fail(str(exc), 2) from exc


def _redrive(dlq_url: str, plan: RedrivePlan, hold: int, yes: bool, quiet: bool) -> RedriveResult:
    from deploy.ops.dlq import queue_depth, redrive

    what = f"move {plan.selection.describe()} from the DLQ to {plan.target_url}"
    if not plan.dry_run:
        opt.unasked(what, yes)
    stop_on_signals()  # a SIGTERM lets holds go, as Ctrl-C does
    with aws_errors():
        _, sqs = clients()
        _check_queues(sqs, dlq_url, plan.target_url)  # before anything is read, dry or not
        if not plan.dry_run:
            visible = queue_depth(sqs, dlq_url).visible
            opt.confirm(what, min(visible, plan.max_moves or visible), yes)
        with DlqReader(sqs, dlq_url, hold_s=hold) as reader, _progress(reader, quiet) as tick:
            result = redrive(sqs, reader, plan, tick)
    if plan.max_moves is None:
        opt.warn(result.read)
    return result


def _check_queues(sqs: SQSClient, dlq_url: str, target_url: str) -> None:
    from deploy.ops.dlq.redrive import NoSuchQueue, check_queues

    try:
        check_queues(sqs, dlq_url, target_url)
    except NoSuchQueue as exc:
        option = "--dlq-url" if exc.role == "dlq" else "--to"
        raise fail(f"{option} {exc.url}: no such queue; nothing was read or moved") from exc


@contextmanager
def _progress(reader: DlqReader, quiet: bool) -> Iterator[Callable[[RedriveResult], None]]:
    with progress(not quiet) as bar:
        task = bar.add_task("redriving", total=reader.report.at_start.visible or None)

        def tick(result: RedriveResult) -> None:
            done = f"moved {len(result.moved)}, held back {result.held_back}, failed {len(result.failures)}"
            bar.update(task, completed=result.read.seen, description=done)

        yield tick
