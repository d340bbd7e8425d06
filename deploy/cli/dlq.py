"""`imgpipe dlq ...`: what is quarantined and why, and sending it back once the cause is fixed.

Thin commands over `deploy.ops.dlq` (reading every message, filters, redrive, export) and
`deploy.ops.dlq_view` (the `--json` shapes, also written in each command's help). Every command
reads the whole DLQ through a visibility hold and makes what it did not move visible again
before it returns.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from deploy.cli.common import (
    Command,
    DlqUrl,
    Group,
    Json,
    aws_errors,
    clients,
    err,
    fail,
    interrupt_on_sigterm,
    progress,
    say,
)
from deploy.cli.output import print_json, show
from deploy.ops import dlq_view as view
from deploy.ops.dlq import (
    REDRIVE_LIMIT,
    DlqReader,
    ReadReport,
    RedrivePlan,
    RedriveResult,
    Selection,
    SelectionError,
)

dlq_app = typer.Typer(
    cls=Group,
    help=(
        "Inspect, back up, redrive and purge quarantined uploads.\n\n"
        'READ, in the --json documents: {"seen", "complete", "stoppedBy": "end"|"count"|"time"|"caller",'
        ' "approximateAtStart": {"visible", "inFlight", "delayed"}}; "complete" is false when the read'
        " may have missed messages (another reader held some, or SQS counted more than were seen)."
    ),
    no_args_is_help=True,
)

CONFIRM_ABOVE = 10  # moving more than this many interactively asks first

Types = Annotated[
    list[str] | None,
    typer.Option("--type", metavar="TYPE", help="only this error type, any case (repeat for more)"),
]
Users = Annotated[list[str] | None, typer.Option("--user", metavar="USER", help="only this user's uploads")]
OlderThan = Annotated[
    str | None, typer.Option(metavar="DURATION", help="only failures older than this: 90s, 15m, 2h, 3d, 1w")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
Force = Annotated[bool, typer.Option("--force", help="overwrite an existing export file")]


def _need(dlq_url: str) -> str:
    if not dlq_url:
        raise fail("set --dlq-url (or IMGPIPE_DLQ_URL)", 2)
    return dlq_url


def _selection(types: list[str] | None, users: list[str] | None, older_than: str | None = None) -> Selection:
    try:
        return Selection.of(types or (), users or (), older_than)
    except SelectionError as exc:
        raise fail(str(exc), 2) from exc


def _warn(report: ReadReport) -> None:
    if (warning := report.warning()) is not None:
        err.print(f"[yellow]imgpipe:[/] {escape(warning)}", highlight=False, soft_wrap=True)


@contextmanager
def _file_errors() -> Iterator[None]:
    try:
        yield
    except FileExistsError as exc:
        raise fail(str(exc), 2) from exc
    except OSError as exc:
        raise fail(f"cannot write the export: {exc}") from exc


def _fresh(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise fail(f"{path} exists; pass --force to overwrite it", 2)


def _table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*row)
    show(table)


@dlq_app.command("stats", cls=Command)
def dlq_stats(dlq_url: DlqUrl = "", json_out: Json = False) -> None:
    """Quarantined messages by error type and by user, with the oldest and newest failure.

    --json: {"total", "byErrorType": {TYPE: n}, "byUser": {USER: n}, "oldest", "newest", "read": READ}
    (messages SQS moved after maxReceiveCount count as Exhausted; oldest/newest are failed-at times).
    """
    from deploy.ops.dlq import read

    with aws_errors():
        messages, report = read(clients()[1], _need(dlq_url))
    stats = view.stats_json(messages)
    _warn(report)
    if json_out:
        return print_json({**stats, "read": report.as_json()})
    by_type = [[t, str(n)] for t, n in stats["byErrorType"].items()]
    _table(f"DLQ: {stats['total']} messages", ("error type", "messages"), by_type)
    _table("by user", ("user", "messages"), [[u, str(n)] for u, n in stats["byUser"].items()])
    say(f"oldest failure: {stats['oldest'] or '-'}   newest: {stats['newest'] or '-'}")


@dlq_app.command("list", cls=Command)
def dlq_list(
    dlq_url: DlqUrl = "",
    error_type: Types = None,
    user: Users = None,
    older_than: OlderThan = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="most messages to show")] = 50,
    json_out: Json = False,
) -> None:
    """Quarantined messages, oldest failure first: key, filename, error type, reason, when; nothing moves.

    --json: {"messages": [{"messageId", "objectKey", "user", "originalFilename", "errorType", "reason",
    "failedAt", "sentAt", "receiveCount", "redriveCount"}], "matched", "shown", "read": READ}
    """
    from deploy.ops.dlq import read

    selection = _selection(error_type, user, older_than)
    with aws_errors():
        messages, report = read(clients()[1], _need(dlq_url), selection)
    shown = messages[:limit]
    _warn(report)
    if json_out:
        items = [view.item_json(m) for m in shown]
        return print_json(
            {"messages": items, "matched": len(messages), "shown": len(shown), "read": report.as_json()}
        )
    title = f"{len(shown)} of {len(messages)} quarantined ({selection.describe()})"
    _table(title, view.LIST_COLUMNS, [view.list_row(m) for m in shown])


@dlq_app.command("show", cls=Command)
def dlq_show(
    message_id: Annotated[str, typer.Argument(metavar="MESSAGE_ID", help="as `dlq list --json` gives it")],
    dlq_url: DlqUrl = "",
    json_out: Json = False,
) -> None:
    """One quarantined message in full: its attributes, and the body decoded (SNS envelope, S3 event).

    --json: the `dlq list` item plus "sourceQueue", "messageAttributes": {NAME: value}, "attributes"
    (SQS's), "body" (as stored) and "decoded": {"sns": envelope or null, "event", "records": [{"eventName",
    "eventTime", "bucket", "key", "size", "eTag", "versionId"}], "error"}
    """
    from deploy.ops.dlq import find

    with aws_errors():
        message, report = find(clients()[1], _need(dlq_url), message_id)
    if message is None:
        raise fail(f"no message {message_id} in the DLQ (read {report.seen})")
    if json_out:
        return print_json(view.show_json(message))
    _table(f"message {message_id}", ("field", "value"), [list(row) for row in view.show_rows(message)])


@dlq_app.command("export", cls=Command)
def dlq_export(
    file: Annotated[Path, typer.Argument(metavar="FILE.jsonl", help="where to write the backup")],
    dlq_url: DlqUrl = "",
    error_type: Types = None,
    user: Users = None,
    older_than: OlderThan = None,
    force: Force = False,
    json_out: Json = False,
) -> None:
    """Back up quarantined messages to a JSON Lines file; they stay in the DLQ, visible again at once.

    Each line: {"messageId", "body", "messageAttributes": {NAME: {"DataType", "StringValue"}},
    "attributes"}. --json: {"file", "exported", "deleted": 0, "failed": 0, "failures": [], "read": READ}
    """
    from deploy.ops.dlq_export import export

    selection = _selection(error_type, user, older_than)
    _fresh(file, force)
    with aws_errors(), _file_errors(), DlqReader(clients()[1], _need(dlq_url)) as reader:
        result = export(reader, selection, file, force)
    _warn(result.read)
    if json_out:
        return print_json(result.as_json())
    say(f"exported {result.exported} message(s) to {file}")


@dlq_app.command("purge", cls=Command)
def dlq_purge(
    dlq_url: DlqUrl = "",
    error_type: Types = None,
    user: Users = None,
    older_than: OlderThan = None,
    export_to: Annotated[Path | None, typer.Option("--export", metavar="PATH", help="backup file")] = None,
    yes: Yes = False,
    force: Force = False,
    json_out: Json = False,
) -> None:
    """Delete the selected messages, after writing them to an export file (imgpipe-dlq-purge-TIME.jsonl).

    Needs --yes. --json: {"file", "exported", "deleted", "failed", "failures": [{"messageId", "reason"}],
    "read": READ}
    """
    from deploy.ops.dlq_export import default_purge_path, purge

    selection = _selection(error_type, user, older_than)
    if not yes:
        raise fail(f"purge deletes messages ({selection.describe()}): pass --yes", 2)
    path = export_to or default_purge_path()
    _fresh(path, force)
    with aws_errors(), _file_errors(), DlqReader(clients()[1], _need(dlq_url)) as reader:
        result = purge(reader, selection, path, force)
    _warn(result.read)
    if json_out:
        print_json(result.as_json())
    else:
        say(f"exported {result.exported} message(s) to {path}; deleted {result.deleted}")
    if result.failures:
        raise fail(f"{len(result.failures)} message(s) not deleted: {next(iter(result.failures.values()))}")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _unasked(what: str, yes: bool) -> None:
    """Refuse, before anything is read, to move messages unasked when nobody can be asked."""
    if not yes and not _interactive():
        raise fail(
            f"not a terminal: pass --yes to {what} without asking (or --dry-run to see what would move)", 2
        )


def _confirm(what: str, expected: int | None, yes: bool) -> None:
    """Ask before moving more than a few messages (unless --yes)."""
    if yes or (expected is not None and expected <= CONFIRM_ABOVE):
        return
    if not typer.confirm(f"{what} (~{expected if expected is not None else 'all'} messages)?", err=True):
        raise fail("nothing moved")


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


@dlq_app.command("redrive", cls=Command)
def dlq_redrive(
    dlq_url: DlqUrl = "",
    to: To = "",
    error_type: Types = None,
    user: Users = None,
    older_than: OlderThan = None,
    most: Max = None,
    rate: Rate = None,
    dry_run: DryRun = False,
    force: Annotated[bool, typer.Option("--force", help="move messages past --redrive-limit too")] = False,
    redrive_limit: Limit = REDRIVE_LIMIT,
    hold: Hold = 60,
    native: Native = False,
    yes: Yes = False,
    json_out: Json = False,
) -> None:
    """Send quarantined messages back (body and attributes unchanged), then delete them from the DLQ.

    Sends first and deletes only what was sent, so a crash duplicates at worst. Without a terminal
    it needs --yes (or --dry-run). Exit 1 when a message failed. --json: {"dryRun", "to", "selection":
    {"errorTypes", "users", "olderThanSeconds"}, "max", "ratePerSecond", "redriveLimit", "moved",
    "wouldMove", "skipped", "heldBack", "failed", "notDeleted", "aborted", "elapsedSeconds",
    "messages": [`dlq list` items], "failures": [{"messageId", "stage", "reason"}], "read": READ}.
    With --native: {"taskHandle", "sourceArn", "destinationArn", "maxNumberOfMessagesPerSecond"}.
    """
    selection, per_second, dlq_url = _selection(error_type, user, older_than), _rate(rate), _need(dlq_url)
    if native:
        filtered = selection != Selection() or most is not None or dry_run or force
        return _native(dlq_url, to, per_second, filtered, yes, json_out)
    if not to or to == dlq_url:
        raise fail("set --to (or IMGPIPE_QUEUE_URL) to the queue to send messages back to (not the DLQ)", 2)
    plan = RedrivePlan(to, selection, most, per_second, dry_run, force, redrive_limit)
    result = _redrive(dlq_url, plan, hold, yes, json_out)
    if json_out:
        print_json(view.redrive_json(result))
    else:
        if dry_run:
            _table("would move", view.LIST_COLUMNS, [view.list_row(m) for m in result.moved])
        say("\n".join(view.redrive_summary(result)))
    if not result.ok:
        first = result.failures[0]["reason"] if result.failures else ""
        raise fail(result.aborted or f"{len(result.failures)} message(s) not moved, e.g. {first}")


def _rate(text: str | None) -> float | None:
    from deploy.ops.redrive_rate import parse_rate

    try:
        return parse_rate(text) if text is not None else None
    except ValueError as exc:
        raise fail(str(exc), 2) from exc


def _redrive(dlq_url: str, plan: RedrivePlan, hold: int, yes: bool, quiet: bool) -> RedriveResult:
    from deploy.ops.dlq import queue_depth, redrive

    what = f"move {plan.selection.describe()} from the DLQ to {plan.target_url}"
    if not plan.dry_run:
        _unasked(what, yes)
    interrupt_on_sigterm()  # a SIGTERM lets holds go, as Ctrl-C does
    with aws_errors():
        _, sqs = clients()
        if not plan.dry_run:
            visible = queue_depth(sqs, dlq_url).visible
            _confirm(what, min(visible, plan.max_moves or visible), yes)
        with DlqReader(sqs, dlq_url, hold_s=hold) as reader, _progress(reader, quiet) as tick:
            result = redrive(sqs, reader, plan, tick)
    if plan.max_moves is None:
        _warn(result.read)
    return result


@contextmanager
def _progress(reader: DlqReader, quiet: bool) -> Iterator[Callable[[RedriveResult], None]]:
    with progress(not quiet) as bar:
        task = bar.add_task("redriving", total=reader.report.at_start.visible or None)

        def tick(result: RedriveResult) -> None:
            done = f"moved {len(result.moved)}, held back {result.held_back}, failed {len(result.failures)}"
            bar.update(task, completed=result.read.seen, description=done)

        yield tick


def _native(dlq_url: str, to: str, rate: float | None, filtered: bool, yes: bool, json_out: bool) -> None:
    from deploy.ops import redrive_native

    if filtered:
        raise fail("--native moves every message: no --type/--user/--older-than/--max/--dry-run/--force", 2)
    if rate is not None and not (rate.is_integer() and 1 <= rate <= 500):
        raise fail("--native takes --rate as a whole number from 1 to 500", 2)
    what = f"start an SQS move task for every DLQ message to {to or 'their source queues'}"
    _unasked(what, yes)
    with aws_errors(), _not_here():
        _, sqs = clients()
        redrive_native.require_aws(sqs, "StartMessageMoveTask")
        _confirm(what, None, yes)
        task = redrive_native.start(sqs, dlq_url, to or None, int(rate) if rate else None)
    if json_out:
        return print_json(task)
    say(f"started move task {task['taskHandle']} to {task['destinationArn'] or 'the source queues'}")


@contextmanager
def _not_here() -> Iterator[None]:
    from deploy.ops.redrive_native import NotAvailable

    try:
        yield
    except NotAvailable as exc:
        raise fail(str(exc)) from exc


@dlq_app.command("tasks", cls=Command)
def dlq_tasks(dlq_url: DlqUrl = "", json_out: Json = False) -> None:
    """SQS move tasks of the DLQ (`dlq redrive --native`), newest first; AWS only.

    --json: {"tasks": [{"taskHandle", "status", "sourceArn", "destinationArn", "maxNumberOfMessagesPerSecond",
    "approximateNumberOfMessagesMoved", "approximateNumberOfMessagesToMove", "failureReason", "startedAt"}]}
    """
    from deploy.ops import redrive_native

    with aws_errors(), _not_here():
        found = redrive_native.tasks(clients()[1], _need(dlq_url))
    if json_out:
        return print_json({"tasks": found})
    _table("move tasks", view.TASK_COLUMNS, [view.task_row(task) for task in found])


@dlq_app.command("cancel", cls=Command)
def dlq_cancel(
    task_handle: Annotated[str, typer.Argument(metavar="TASK_HANDLE", help="from `dlq tasks`")],
    json_out: Json = False,
) -> None:
    """Stop a running SQS move task; AWS only.

    --json: {"taskHandle", "approximateNumberOfMessagesMoved"}
    """
    from deploy.ops import redrive_native

    with aws_errors(), _not_here():
        stopped = redrive_native.cancel(clients()[1], task_handle)
    if json_out:
        return print_json(stopped)
    say(f"cancelled {task_handle} after ~{stopped['approximateNumberOfMessagesMoved']} message(s)")


def register(app: typer.Typer) -> None:
    """Add `imgpipe dlq` to the app."""
    app.add_typer(dlq_app, name="dlq")
