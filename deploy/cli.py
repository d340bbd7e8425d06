"""The `imgpipe` command: the operator's and the new user's way in.

Expected failures (an unreachable endpoint, a missing bucket, a bad path) end in a one-line
reason and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shared.errors import ImgpipeError

app = typer.Typer(
    help="imgpipe: every uploaded image turned into web-ready size variants, with libvips.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
local_app = typer.Typer(help="The embedded local stack (moto server + workers).", no_args_is_help=True)
presign_app = typer.Typer(help="Pre-signed URLs for browser uploads and downloads.", no_args_is_help=True)
dlq_app = typer.Typer(help="Inspect and redrive quarantined uploads.", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(presign_app, name="presign")
app.add_typer(dlq_app, name="dlq")
console = Console()
err = Console(stderr=True)

InputBucket = Annotated[str, typer.Option("--bucket", envvar="IMGPIPE_INPUT_BUCKET", help="input bucket")]
OutputBucket = Annotated[
    str, typer.Option("--output-bucket", envvar="IMGPIPE_OUTPUT_BUCKET", help="output bucket")
]
QueueUrl = Annotated[str, typer.Option("--queue-url", envvar="IMGPIPE_QUEUE_URL", help="work queue URL")]
DlqUrl = Annotated[str, typer.Option("--dlq-url", envvar="IMGPIPE_DLQ_URL", help="dead-letter queue URL")]
User = Annotated[str, typer.Option("--user", help="userId the uploads belong to")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a one-line reason and return the exit to raise."""
    err.print(f"[red]imgpipe:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn the AWS failures a user can cause into one-line reasons."""
    try:
        yield
    except EndpointConnectionError as exc:
        hint = " (is `imgpipe local up` running?)" if os.environ.get("AWS_ENDPOINT_URL") else ""
        raise fail(f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}{hint}") from exc
    except NoCredentialsError as exc:
        raise fail("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise fail(f"{exc.operation_name} failed: {error.get('Code')}: {error.get('Message', '')}") from exc
    except BotoCoreError as exc:
        raise fail(str(exc)) from exc


def _interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so `finally` blocks stop every process this command started."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _clients() -> tuple[Any, Any]:
    """S3 (SigV4, which KMS uploads and newer buckets require for pre-signed URLs) and SQS clients."""
    import boto3
    from botocore.config import Config

    session = boto3.Session()
    return session.client("s3", config=Config(signature_version="s3v4")), session.client("sqs")


@app.command()
def demo(
    folder: Annotated[Path | None, typer.Argument(help="photos to use (default: generated samples)")] = None,
    out: Annotated[Path, typer.Option(help="where results and index.html go")] = Path("out"),
    workers: Annotated[int | None, typer.Option(help="worker processes (default: one per core)")] = None,
) -> None:
    """Run the whole pipeline locally on sample photos and write a contact sheet to OUT/index.html."""
    from deploy import demo as demo_run
    from deploy.uploads import collect

    if folder is None:
        from loadtest import samples

        console.print("generating sample photos: one EXIF-rotated, one with alpha, two that must be refused")
        files = samples.write(samples.demo_set(), out / "samples")
    else:
        files = _collect([folder], collect)
    console.print(
        f"starting the local stack (moto server, S3 → SNS → SQS, {workers or os.cpu_count()} workers)"
    )
    with Progress(console=console, transient=True) as progress:
        uploaded = progress.add_task("uploading", total=len(files))
        processed = progress.add_task("processing", total=len(files))
        try:
            result = demo_run.run(
                files,
                out,
                on_upload=lambda _: progress.advance(uploaded),
                on_result=lambda n: progress.advance(processed, n),
                workers=workers,
            )
        except demo_run.DemoError as exc:
            raise fail(str(exc)) from exc
    _demo_summary(result)


def _demo_summary(result: Any) -> None:
    table = Table(title=f"demo: {len(result.entries)} uploads in {result.elapsed_s:.1f} s")
    for column in ("file", "status", "variants / reason", "render ms"):
        table.add_column(column)
    for entry in result.entries:
        manifest = entry.manifest
        if manifest is not None and manifest.status == "complete":
            sizes = ", ".join(f"{v.name} {v.width}x{v.height}" for v in manifest.variants)
            ms = f"{manifest.timings_ms.get('render', 0):.0f}"
            table.add_row(entry.filename, "[green]complete[/]", sizes, ms)
        else:
            error = manifest.error if manifest is not None else None
            reason = f"{error.type}: {error.message}" if error else (entry.reason or "no result")
            table.add_row(entry.filename, "[red]failed[/]", reason, "-")
    console.print(table)
    console.print(
        f"queue: {result.queue.visible} waiting, {result.queue.in_flight} in flight · "
        f"DLQ: {result.dlq.visible} quarantined · contact sheet: [bold]{result.page}[/]"
    )


@app.command()
def render(
    paths: Annotated[list[Path], typer.Argument(help="image files or folders")],
    out: Annotated[Path, typer.Option(help="folder for the variants")] = Path("out"),
) -> None:
    """Render the default variants of local files with the engine alone (no AWS involved)."""
    from deploy.uploads import collect
    from shared.variants import DEFAULT_VARIANTS
    from worker import engine

    files = _collect(paths, collect)
    table = Table("file", "result")
    failed = 0
    for path in files:
        try:
            result = engine.render(path.read_bytes(), DEFAULT_VARIANTS)
        except ImgpipeError as exc:
            failed += 1
            table.add_row(path.name, f"[red]{exc.error_type}[/]: {exc}")
            continue
        folder = out / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        for v in result.variants:
            (folder / f"{v.name}.{'jpg' if v.format == 'jpeg' else v.format}").write_bytes(v.data)
        table.add_row(path.name, " ".join(f"{v.name}={v.width}x{v.height}" for v in result.variants))
    console.print(table)
    if failed == len(files):
        raise typer.Exit(1)


@local_app.command("up")
def local_up(
    port: Annotated[int | None, typer.Option(help="port for the moto server (default: a free one)")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = max(1, os.cpu_count() or 1),
    logs: Annotated[Path, typer.Option(help="folder for worker logs")] = Path("out/logs"),
) -> None:
    """Start the moto server, create the topology, run workers until Ctrl-C."""
    from deploy.motoserver import MotoServerError
    from deploy.stack import LocalStack

    stack = LocalStack(port=port, workers=workers, log_dir=logs)
    _interrupt_on_sigterm()
    try:
        stack.start()
    except MotoServerError as exc:
        raise fail(str(exc)) from exc
    try:
        console.print(
            f"local stack up at [bold]{stack.server.endpoint}[/] with {workers} workers; logs in {logs}/"
        )
        console.print("in another shell:")
        for name, value in stack.environment().items():
            console.print(f"  export {name}={value}", highlight=False, soft_wrap=True)
        console.print("then: imgpipe upload PHOTOS... ; imgpipe status   (Ctrl-C here stops everything)")
        while stack.alive():
            time.sleep(0.5)
        raise fail(f"a worker process exited; see {logs}/worker-*.log")
    except KeyboardInterrupt:
        console.print("stopping: workers finish their batch, then the server stops")
    finally:
        stack.stop()


@app.command()
def worker(
    queue_url: QueueUrl,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="records per invocation")] = 10,
    window: Annotated[float, typer.Option(min=0, max=300, help="batching window, seconds")] = 0.0,
    timeout: Annotated[float, typer.Option(min=1, max=900, help="function timeout, seconds")] = 60.0,
) -> None:
    """Consume the queue like Lambda's event source mapping (local stack, ECS or EC2)."""
    from deploy.consumer import consume

    with aws_errors():
        try:
            consume(queue_url, batch_size, window, timeout)
        except ImgpipeError as exc:
            raise fail(str(exc)) from exc


@app.command()
def upload(
    paths: Annotated[list[Path], typer.Argument(help="image files or folders")],
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="uploads in flight")] = 16,
) -> None:
    """Upload files (folders recursively) to uploads/USER/img_<uuid>.<ext> with a progress bar."""
    from deploy.uploads import check_user, collect, upload_all

    files = _collect(paths, collect)
    try:
        check_user(user)
    except ImgpipeError as exc:
        raise fail(str(exc), 2) from exc
    with aws_errors(), Progress(console=console) as progress:
        s3, _ = _clients()
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
    from deploy.uploads import presign_upload as make

    with aws_errors():
        s3, _ = _clients()
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
    from deploy.uploads import presign_download as make

    with aws_errors():
        s3, _ = _clients()
        try:
            console.print_json(json.dumps(make(s3, bucket, image_id, variant)))
        except LookupError as exc:
            raise fail(str(exc)) from exc


@app.command()
def status(
    output_bucket: OutputBucket = "imgpipe-output",
    queue_url: QueueUrl = "",
    dlq_url: DlqUrl = "",
) -> None:
    """Queue depth, in flight, DLQ by error type, images complete and failed."""
    from deploy.status import snapshot

    if not queue_url or not dlq_url:
        raise fail("set --queue-url and --dlq-url (or IMGPIPE_QUEUE_URL / IMGPIPE_DLQ_URL)", 2)
    with aws_errors():
        s3, sqs = _clients()
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


@dlq_app.command("stats")
def dlq_stats(dlq_url: DlqUrl = "") -> None:
    """Quarantined messages by error type."""
    from collections import Counter

    from deploy.dlq import peek

    if not dlq_url:
        raise fail("set --dlq-url (or IMGPIPE_DLQ_URL)", 2)
    with aws_errors():
        _, sqs = _clients()
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
    from deploy.dlq import peek

    if not dlq_url:
        raise fail("set --dlq-url (or IMGPIPE_DLQ_URL)", 2)
    with aws_errors():
        _, sqs = _clients()
        messages = [m for m in peek(sqs, dlq_url) if error_type in (None, m.error_type)][:limit]
    table = Table("object key", "error type", "reason", "failed at", title=f"{len(messages)} quarantined")
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
    from deploy.dlq import redrive

    if not dlq_url or not queue_url:
        raise fail("set --dlq-url and --queue-url (or IMGPIPE_DLQ_URL / IMGPIPE_QUEUE_URL)", 2)
    with aws_errors(), Progress(console=console, transient=True) as progress:
        task = progress.add_task("redriving", total=None)
        _, sqs = _clients()
        moved = redrive(sqs, dlq_url, queue_url, error_type, limit, lambda _: progress.advance(task))
    console.print(f"moved {moved} message(s) back to {queue_url}")


def _collect(paths: list[Path], collect: Any) -> list[Path]:
    try:
        files: list[Path] = collect(paths)
    except FileNotFoundError as exc:
        raise fail(str(exc), 2) from exc
    if not files:
        raise fail(f"no image files in {', '.join(map(str, paths))}", 2)
    return files


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
