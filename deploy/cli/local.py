"""`imgpipe demo | render | local up | worker`: the commands that run things on this machine."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from deploy.cli.common import (
    Command,
    Group,
    QueueUrl,
    aws_errors,
    collect_files,
    console,
    fail,
    interrupt_on_sigterm,
)
from shared.errors import ImgpipeError

local_app = typer.Typer(
    cls=Group, help="The embedded local stack (moto server + workers).", no_args_is_help=True
)


def demo(
    folder: Annotated[
        Path | None, typer.Argument(help="photos to use (default: generated samples)", metavar="FOLDER")
    ] = None,
    out: Annotated[Path, typer.Option(help="where results and index.html go")] = Path("out"),
    workers: Annotated[int | None, typer.Option(help="worker processes (default: one per core)")] = None,
) -> None:
    """Run the whole pipeline locally on sample photos and write a contact sheet to OUT/index.html."""
    from deploy.local import demo as demo_run
    from deploy.local.consumer import TimeoutTooShort

    if folder is None:
        from deploy.local import samples

        console.print("generating sample photos: one EXIF-rotated, one with alpha, two that must be refused")
        files = samples.write(samples.demo_set(), out / "samples")
    else:
        files = collect_files([folder]).files
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
        except TimeoutTooShort as exc:
            raise fail(str(exc), 2) from exc
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


def render(
    paths: Annotated[list[Path], typer.Argument(help="image files or folders", metavar="PATH")],
    out: Annotated[Path, typer.Option(help="folder for the variants")] = Path("out"),
) -> None:
    """Render the default variants of local files with the engine alone (no AWS involved)."""
    from shared.variants import DEFAULT_VARIANTS
    from worker import engine

    files = collect_files(paths).files
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


@local_app.command("up", cls=Command)
def local_up(
    port: Annotated[int | None, typer.Option(help="port for the moto server (default: a free one)")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = max(1, os.cpu_count() or 1),
    logs: Annotated[Path, typer.Option(help="folder for worker logs")] = Path("out/logs"),
    timeout: Annotated[int, typer.Option(min=1, max=900, help="the workers' function timeout, seconds")] = 60,
) -> None:
    """Start the moto server, create the topology, run workers until Ctrl-C."""
    from deploy.local.consumer import TimeoutTooShort
    from deploy.local.motoserver import MotoServerError
    from deploy.local.stack import LocalStack
    from deploy.local.topology import QueueSettings

    queue = QueueSettings.for_timeout(timeout, QueueSettings().batching_window_s)
    stack = LocalStack(port=port, workers=workers, log_dir=logs, queue=queue)
    interrupt_on_sigterm()
    try:
        stack.start()
    except TimeoutTooShort as exc:
        raise fail(str(exc), 2) from exc
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


def worker(
    queue_url: QueueUrl,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="records per invocation")] = 10,
    window: Annotated[float, typer.Option(min=0, max=300, help="batching window, seconds")] = 0.0,
    timeout: Annotated[float, typer.Option(min=1, max=900, help="function timeout, seconds")] = 60.0,
) -> None:
    """Consume the queue like Lambda's event source mapping (local stack, ECS or EC2)."""
    from deploy.local.consumer import TimeoutTooShort, consume

    with aws_errors():
        try:
            consume(queue_url, batch_size, window, timeout)
        except TimeoutTooShort as exc:
            raise fail(str(exc), 2) from exc
        except ImgpipeError as exc:
            raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add the local commands to the app."""
    app.command(cls=Command)(demo)
    app.command(cls=Command)(render)
    app.command(cls=Command)(worker)
    app.add_typer(local_app, name="local")
