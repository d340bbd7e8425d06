"""`imgpipe dlq ...`: what is quarantined and why, and sending it back once the cause is fixed.

Thin commands over `deploy.ops.dlq` (reading every message, filters, redrive, export) and
`deploy.ops.dlq.view` (the `--json` shapes, also written in each command's help). Every command
reads the whole DLQ through a visibility hold and makes what it did not move visible again
before it returns.
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from deploy.cli.common import Command, Group
from deploy.cli.dlq.backup import dlq_export, dlq_purge
from deploy.cli.dlq.move_tasks import dlq_cancel, dlq_tasks
from deploy.cli.dlq.read import dlq_list, dlq_show, dlq_stats
from deploy.cli.dlq.redrive import dlq_redrive

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


COMMANDS: dict[str, Callable[..., None]] = {
    "stats": dlq_stats,
    "list": dlq_list,
    "show": dlq_show,
    "export": dlq_export,
    "purge": dlq_purge,
    "redrive": dlq_redrive,
    "tasks": dlq_tasks,
    "cancel": dlq_cancel,
}
for name, command in COMMANDS.items():
    dlq_app.command(name, cls=Command)(command)

__all__ = ["COMMANDS", "dlq_app", "register"]


def register(app: typer.Typer) -> None:
    """Add `imgpipe dlq` to the app."""
    app.add_typer(dlq_app, name="dlq")
