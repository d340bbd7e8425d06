"""`imgpipe dlq redrive --native | tasks | cancel`: SQS's own move task, started, listed, stopped.

SQS runs it (AWS only, no filters, no redrive count); `deploy.ops.dlq.redrive_native` makes the
calls, and says "not available here" against any other endpoint, which `_not_here` makes one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from deploy.cli.common import DlqUrl, Json, aws_errors, clients, fail, say
from deploy.cli.dlq import options as opt
from deploy.cli.output import print_json
from deploy.ops.dlq import view


def start_move_task(
    dlq_url: str, to: str, rate: float | None, filtered: bool, yes: bool, json_out: bool
) -> None:
    """`dlq redrive --native`: start SQS's move task for the whole DLQ, once asked (AWS only)."""
    from deploy.ops.dlq import redrive_native

    if filtered:
        raise fail("--native moves every message: no --type/--user/--older-than/--max/--dry-run/--force", 2)
    if rate is not None and not (rate.is_integer() and 1 <= rate <= 500):
        raise fail("--native takes --rate as a whole number from 1 to 500", 2)
    what = f"start an SQS move task for every DLQ message to {to or 'their source queues'}"
    opt.unasked(what, yes)
    with aws_errors(), _not_here():
        _, sqs = clients()
        redrive_native.require_aws(sqs, "StartMessageMoveTask")
        opt.confirm(what, None, yes)
        task = redrive_native.start(sqs, dlq_url, to or None, int(rate) if rate else None)
    if json_out:
        return print_json(task)
    say(f"started move task {task['taskHandle']} to {task['destinationArn'] or 'the source queues'}")


@contextmanager
def _not_here() -> Iterator[None]:
    from deploy.ops.dlq.redrive_native import NotAvailable

    try:
        yield
    except NotAvailable as exc:
        raise fail(str(exc)) from exc


def dlq_tasks(dlq_url: DlqUrl = "", json_out: Json = False) -> None:
    """SQS move tasks of the DLQ (`dlq redrive --native`), newest first; AWS only.

    --json: {"tasks": [{"taskHandle", "status", "sourceArn", "destinationArn", "maxNumberOfMessagesPerSecond",
    "approximateNumberOfMessagesMoved", "approximateNumberOfMessagesToMove", "failureReason", "startedAt"}]}
    """
    from deploy.ops.dlq import redrive_native

    with aws_errors(), _not_here():
        found = redrive_native.tasks(clients()[1], opt.need(dlq_url))
    if json_out:
        return print_json({"tasks": found})
    opt.table("move tasks", view.TASK_COLUMNS, [view.task_row(task) for task in found])


def dlq_cancel(
    task_handle: Annotated[str, typer.Argument(metavar="TASK_HANDLE", help="from `dlq tasks`")],
    json_out: Json = False,
) -> None:
    """Stop a running SQS move task; AWS only.

    --json: {"taskHandle", "approximateNumberOfMessagesMoved"}
    """
    from deploy.ops.dlq import redrive_native

    with aws_errors(), _not_here():
        stopped = redrive_native.cancel(clients()[1], task_handle)
    if json_out:
        return print_json(stopped)
    say(f"cancelled {task_handle} after ~{stopped['approximateNumberOfMessagesMoved']} message(s)")
