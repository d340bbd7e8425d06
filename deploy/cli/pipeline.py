"""`imgpipe upload | status | presign`: working with a deployed (or local) pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from deploy.cli.common import (
    DlqUrl,
    InputBucket,
    OutputBucket,
    QueueUrl,
    User,
    aws_errors,
    clients,
    collect_files,
    console,
    fail,
)
from shared.errors import ImgpipeError

presign_app = typer.Typer(help="Pre-signed URLs for browser uploads and downloads.", no_args_is_help=True)


def upload(
    paths: Annotated[list[Path], typer.Argument(help="image files or folders")],
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="uploads in flight")] = 16,
) -> None:
    """Upload files (folders recursively) to uploads/USER/img_<uuid>.<ext> with a progress bar."""
    from deploy.ops.uploads import check_user, collect, upload_all

    files = collect_files(paths, collect)
    try:
        check_user(user)
    except ImgpipeError as exc:
        raise fail(str(exc), 2) from exc
    with aws_errors(), Progress(console=console) as progress:
        s3, _ = clients()
        task = progress.add_task(f"uploading to s3://{bucket}", total=len(files))
        done = upload_all(s3, bucket, files, user, concurrency, lambda _: progress.advance(task))
    console.print(f"uploaded {len(done)} files to s3://{bucket}/uploads/{user}/")


@presign_app.command("upload")
def presign_upload(
    filename: Annotated[str, typer.Argument(help="the file name the browser will upload")],
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    kms_key_id: Annotated[str | None, typer.Option(envvar="IMGPIPE_KMS_KEY_ID", help="SSE-KMS key")] = None,
) -> None:
    """A one-hour PUT URL (SSE-KMS, original name in metadata) and the headers to send with it."""
    from deploy.ops.uploads import presign_upload as make

    with aws_errors():
        s3, _ = clients()
        try:
            console.print_json(json.dumps(make(s3, bucket, user, filename, kms_key_id)))
        except ImgpipeError as exc:
            raise fail(str(exc), 2) from exc


@presign_app.command("download")
def presign_download(
    image_id: Annotated[str, typer.Argument(help="the imageId (img_...)")],
    variant: Annotated[str, typer.Option(help="variant name")] = "large",
    bucket: OutputBucket = "imgpipe-output",
) -> None:
    """A one-hour GET URL for one variant of a processed image."""
    from deploy.ops.uploads import presign_download as make

    with aws_errors():
        s3, _ = clients()
        try:
            console.print_json(json.dumps(make(s3, bucket, image_id, variant)))
        except LookupError as exc:
            raise fail(str(exc)) from exc


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
    """Add these commands to the `imgpipe` app."""
    app.command()(upload)
    app.command()(status)
    app.add_typer(presign_app, name="presign")
