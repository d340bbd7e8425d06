"""`imgpipe dlq ...`: what is quarantined and why, and sending it back once the cause is fixed.

Thin commands over `deploy.ops.dlq`, which does the reading and moving.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from deploy.cli.common import DlqUrl, QueueUrl, aws_errors, clients, console, fail

dlq_app = typer.Typer(help="Inspect and redrive quarantined uploads.", no_args_is_help=True)


@dlq_app.command("stats")
def dlq_stats(dlq_url: DlqUrl = "") -> None:
    """Quarantined messages by error type."""
    from collections import Counter

    from deploy.ops.dlq import peek

    if not dlq_url:
        raise fail("set --dlq-url (or IMGPIPE_DLQ_URL)", 2)
    with aws_errors():
        _, sqs = clients()
        messages = peek(sqs, dlq_url)
    table = Table("error type", "messages", "latest", title=f"DLQ: {len(messages)} messages")
    for error_type, count in Counter(m.error_type for m in messages).most_common():
        latest = max((m.failed_at for m in messages if m.error_type == error_type), default="")
        table.add_row(error_type, str(count), latest or "-")
    console.print(table)


@dlq_app.command("list")
def dlq_list(
    dlq_url: DlqUrl = "",
    error_type: Annotated[str | None, typer.Option(help="only this error type")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="most messages to show")] = 50,
) -> None:
    """Quarantined messages: object key, error type, reason, when; nothing is removed."""
    from deploy.ops.dlq import peek

    if not dlq_url:
        raise fail("set --dlq-url (or IMGPIPE_DLQ_URL)", 2)
    with aws_errors():
        _, sqs = clients()
        messages = [m for m in peek(sqs, dlq_url) if error_type in (None, m.error_type)][:limit]
    table = Table(title=f"{len(messages)} quarantined")
    table.add_column("object key", overflow="fold")  # operators copy it whole
    for column in ("error type", "reason", "failed at"):
        table.add_column(column)
    for m in messages:
        table.add_row(m.object_key or m.message_id, m.error_type, m.reason or "-", m.failed_at or "-")
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive(
    dlq_url: DlqUrl = "",
    queue_url: QueueUrl = "",
    error_type: Annotated[str | None, typer.Option(help="only messages with this error type")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="most messages to move")] = None,
) -> None:
    """Send quarantined messages, bodies unchanged, back to the work queue (after fixing the cause)."""
    from deploy.ops.dlq import redrive

    if not dlq_url or not queue_url:
        raise fail("set --dlq-url and --queue-url (or IMGPIPE_DLQ_URL / IMGPIPE_QUEUE_URL)", 2)
    with aws_errors(), Progress(console=console, transient=True) as progress:
        task = progress.add_task("redriving", total=None)
        _, sqs = clients()
        moved = redrive(sqs, dlq_url, queue_url, error_type, limit, lambda _: progress.advance(task))
    console.print(f"moved {moved} message(s) back to {queue_url}")


def register(app: typer.Typer) -> None:
    """Add `imgpipe dlq` to the app."""
    app.add_typer(dlq_app, name="dlq")
