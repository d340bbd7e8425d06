"""`imgpipe status`: how the pipeline is doing right now (queue, in flight, results, DLQ)."""

from __future__ import annotations

import typer
from rich.table import Table

from deploy.cli.common import DlqUrl, OutputBucket, QueueUrl, aws_errors, clients, console, fail


def status(
    output_bucket: OutputBucket = "imgpipe-output",
    queue_url: QueueUrl = "",
    dlq_url: DlqUrl = "",
) -> None:
    """Queue depth, in flight, DLQ by error type, images complete and failed."""
    from deploy.ops.status import snapshot

    if not queue_url or not dlq_url:
        raise fail("set --queue-url and --dlq-url (or IMGPIPE_QUEUE_URL / IMGPIPE_DLQ_URL)", 2)
    with aws_errors():
        s3, sqs = clients()
        now = snapshot(s3, sqs, output_bucket, queue_url, dlq_url)
    table = Table("what", "count", title="imgpipe status")
    table.add_row("queued", str(now.queue.visible + now.queue.delayed))
    table.add_row("in flight", str(now.queue.in_flight))
    table.add_row("images complete", str(now.manifests.get("complete", 0)))
    table.add_row("images failed", str(now.manifests.get("failed", 0)))
    table.add_row("quarantined (DLQ)", str(now.dlq.visible + now.dlq.in_flight))
    for error_type, count in now.dlq_by_error.most_common():
        table.add_row(f"  {error_type}", str(count))
    console.print(table)
    if now.sampled:
        console.print("(manifest counts sampled from the first 10,000)")


def register(app: typer.Typer) -> None:
    """Add `imgpipe status` to the app."""
    app.command()(status)
