"""`imgpipe demo | render | local up | worker`: the commands that run things on this machine.

Settings the workers would refuse (IMGPIPE_VARIANTS, limits, the record budget) are checked
here, before anything starts, so a bad one is a usage error naming the variable rather than a
worker that dies in the background.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from deploy.cli.common import (
    Command,
    Group,
    Json,
    QueueUrl,
    aws_errors,
    collect_files,
    console,
    fail,
    nothing_to_do,
    progress,
    say,
    settings,
    stop_on_signals,
)
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable, literal
from deploy.local.motoserver import DEFAULT_PORT, PORT_VARIABLE
from shared.errors import ConfigError, ImgpipeError

local_app = typer.Typer(
    cls=Group, help="The embedded local stack (moto server + workers).", no_args_is_help=True
)
Workers = Annotated[int, typer.Option(metavar="N", help="worker processes, 1 or more")]
DEFAULT_WORKERS = max(1, os.cpu_count() or 1)


def demo(
    folder: Annotated[
        Path | None, typer.Argument(help="photos to use (default: generated samples)", metavar="FOLDER")
    ] = None,
    out: Annotated[Path, typer.Option(metavar="DIR", help="where results and index.html go")] = Path("out"),
    workers: Annotated[
        int | None, typer.Option(metavar="N", help="worker processes (default: one per core)")
    ] = None,
) -> None:
    """Run the whole pipeline locally on sample photos and write a contact sheet to OUT/index.html."""
    from deploy.local import demo as demo_run
    from deploy.local.motoserver import MotoServerError
    from deploy.local.topology import QueueSettings

    _check_workers(workers)
    _check_config(QueueSettings())
    stop_on_signals()  # Ctrl-C stops the stack it starts, even when started with SIGINT ignored
    skipped: list[Any] = []
    if folder is None:
        from deploy.local import samples

        console.print("generating sample photos: one EXIF-rotated, one with alpha, two that must be refused")
        files = samples.write(samples.demo_set(), out / "samples")
    else:
        selection = collect_files([folder])
        files, skipped = selection.files, selection.skipped
    console.print(
        f"starting the local stack (moto server, S3 → SNS → SQS, {workers or os.cpu_count()} workers)"
    )
    with progress() as bar:
        uploaded = bar.add_task("uploading", total=len(files))
        processed = bar.add_task("processing", total=len(files))
        try:
            result = demo_run.run(
                files,
                out,
                on_upload=lambda _: bar.advance(uploaded),
                on_result=lambda n: bar.advance(processed, n),
                workers=workers,
            )
        except (demo_run.DemoError, MotoServerError, ImgpipeError, OSError) as exc:
            raise fail(str(exc)) from exc
    _demo_summary(result, skipped)


def _demo_summary(result: Any, skipped: list[Any]) -> None:
    # File names and failure reasons are the photos' own: every cell is literal text. `show` fits
    # the table to a terminal and never cuts it when piped, as every other table.
    table = DataTable(title=f"demo: {len(result.entries)} uploads in {result.elapsed_s:.1f} s")
    for column in ("file", "status", "variants / reason", "render ms"):
        table.add_column(column)
    for entry in result.entries:
        manifest = entry.manifest
        if manifest is not None and manifest.status == "complete":
            sizes = ", ".join(f"{v.name} {v.width}x{v.height}" for v in manifest.variants)
            ms = f"{manifest.timings_ms.get('render', 0):.0f}"
            table.add_row(entry.filename, Text("complete", style="green"), sizes, ms)
        else:
            error = manifest.error if manifest is not None else None
            reason = f"{error.type}: {error.message}" if error else (entry.reason or "no result")
            table.add_row(entry.filename, Text("failed", style="red"), reason, "-")
    show(table)
    if skipped:  # left out before the upload, as `imgpipe upload` lists them
        left_out = DataTable("skipped file", "why")
        for s in skipped:
            left_out.add_row(str(s.path), s.reason)
        show(left_out)
    say(
        f"queue: {result.queue.visible} waiting, {result.queue.in_flight} in flight · "
        f"DLQ: {result.dlq.visible} quarantined · "
        + (f"skipped {len(skipped)} · " if skipped else "")
        + f"contact sheet: {result.page}"
    )


def render(
    paths: Annotated[list[Path], typer.Argument(help="image files or folders", metavar="PATH")],
    out: Annotated[Path, typer.Option(metavar="DIR", help="folder for the variants")] = Path("out"),
    json_output: Json = False,
) -> None:
    """Render the configured variants of local files with the engine alone (no AWS involved).

    Variants come from IMGPIPE_VARIANTS (the defaults when unset) and limits from IMGPIPE_MAX_*,
    as in the worker. Each file gets its own folder under OUT, its path relative to the files'
    common folder: a/photo.jpg and b/photo.jpg go to OUT/a/photo/ and OUT/b/photo/. Exits 1
    when any file failed.

    --json prints {"out", "configHash", "rendered", "failed", "files": [{"path", "status":
    "rendered"|"failed", "folder", "variants": [{"name", "file", "format", "width", "height",
    "bytes"}], "warnings": [str], "error": {"type", "message"}|null}], "skipped": [{"path",
    "reason"}]}. Warnings are what the decoder noticed that left the picture whole, as the
    worker's manifest records them.
    """
    from deploy.local.render import render_files
    from shared.variants import config_hash

    config = settings()
    selection = _files_to_render(paths)
    with progress(not json_output) as bar:
        task = bar.add_task("rendering", total=len(selection.files))
        outcomes = render_files(
            selection.files, out, config.variants, config.limits, lambda _: bar.advance(task)
        )
    failed = sum(1 for o in outcomes if not o.ok)
    if json_output:
        print_json(
            {
                "out": str(out),
                "configHash": config_hash(config.variants),
                "rendered": len(outcomes) - failed,
                "failed": failed,
                "files": [o.to_json() for o in outcomes],
                "skipped": [{"path": str(s.path), "reason": s.reason} for s in selection.skipped],
            }
        )
    else:
        _render_table(outcomes, selection.skipped)
    if failed:
        raise fail(f"{failed} of {len(outcomes)} files failed")


def _files_to_render(paths: list[Path]) -> Any:
    """As `collect_files`, but a file named as an image is rendered even when its content is not
    one: the engine's verdict on it is what `render` is for."""
    from deploy.ops.uploads import select

    try:
        selection = select(paths, trust_suffix=True)
    except FileNotFoundError as exc:
        raise fail(str(exc), 2) from exc
    if not selection.files:
        raise nothing_to_do(paths, selection)
    return selection


def _render_table(outcomes: list[Any], skipped: list[Any]) -> None:
    # Paths and decoder messages are the files' own: cells are literal, styles come as Text.
    table = DataTable("file", "folder", "result")
    for o in outcomes:
        if o.ok:
            sizes = " ".join(f"{v.name}={v.width}x{v.height}" for v in o.variants)
            notes = [Text.assemble("\n", ("warning", "yellow"), ": ", literal(w)) for w in o.warnings]
            table.add_row(str(o.path), str(o.folder), Text.assemble(literal(sizes), *notes))
        else:
            table.add_row(str(o.path), "-", Text.assemble((o.error_type, "red"), ": ", literal(o.error)))
    for s in skipped:
        table.add_row(str(s.path), "-", f"skipped: {s.reason}")
    show(table)


@local_app.command("up", cls=Command)
def local_up(
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            envvar=PORT_VARIABLE,
            metavar="PORT",
            help="port for the moto server, the same every start (0: any free one)",
        ),
    ] = DEFAULT_PORT,
    workers: Workers = DEFAULT_WORKERS,
    logs: Annotated[Path, typer.Option(metavar="DIR", help="folder for worker logs")] = Path("out/logs"),
    timeout: Annotated[
        int, typer.Option(min=1, max=900, metavar="SECONDS", help="the workers' function timeout, 1-900 s")
    ] = 60,
) -> None:
    """Start the moto server, create the topology, run workers until Ctrl-C.

    The stack keeps everything in memory: Ctrl-C discards every upload, result and DLQ message,
    and the next start is empty, on the same port (so the export lines stay valid).
    """
    from deploy.local.motoserver import MotoServerError
    from deploy.local.stack import LocalStack
    from deploy.local.topology import QueueSettings

    _check_workers(workers)
    queue = QueueSettings.for_timeout(timeout, QueueSettings().batching_window_s)
    _check_config(queue)
    stack = LocalStack(port=port or None, workers=workers, log_dir=logs, queue=queue)
    stop_on_signals()
    try:
        stack.start()
    except MotoServerError as exc:
        raise fail(str(exc)) from exc
    try:
        _announce(stack, workers, logs, fixed_port=port != 0)
        while stack.alive():
            time.sleep(0.5)
        raise fail(stack.failure())
    except KeyboardInterrupt:
        console.print("stopping: workers finish their batch, then the server stops")
    finally:
        stack.stop()


def _announce(stack: Any, workers: int, logs: Path, fixed_port: bool) -> None:
    """Where the stack is, how to reach it, and what a restart keeps: nothing."""
    console.print(
        Text.assemble(
            "local stack up at ", (stack.server.endpoint, "bold"), f" with {workers} workers; logs in ",
            literal(f"{logs}/"),
        )
    )  # fmt: skip
    console.print("in another shell:")
    for name, value in stack.environment().items():
        console.print(f"  export {name}={value}", markup=False, highlight=False, soft_wrap=True)
    where = (
        f"on port {stack.server.port} again, so these exports stay valid"
        if fixed_port
        else "on another free port: export its lines again"
    )
    say(
        "state is in memory only: stopping this stack discards every upload, result and DLQ message;"
        f" the next `imgpipe local up` starts empty, {where}"
    )
    console.print("then: imgpipe upload PHOTOS... ; imgpipe status   (Ctrl-C here stops everything)")


def _check_workers(workers: int | None) -> None:
    if workers is not None and workers < 1:
        raise fail(f"--workers must be 1 or more, not {workers}", 2)


def _check_config(queue: Any) -> None:
    """The workers' settings, refused here (exit 2) rather than by a worker dying later."""
    from deploy.local.stack import check_config

    try:
        check_config(queue)
    except ConfigError as exc:  # TimeoutTooShort included: it names --timeout and the budget
        raise fail(str(exc), 2) from exc


def worker(
    queue_url: QueueUrl,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, metavar="N", help="records per invocation, 1-10000")
    ] = 10,
    window: Annotated[
        float, typer.Option(min=0, max=300, metavar="SECONDS", help="batching window, 0-300 s")
    ] = 0.0,
    timeout: Annotated[
        float, typer.Option(min=1, max=900, metavar="SECONDS", help="function timeout, 1-900 s")
    ] = 60.0,
) -> None:
    """Consume the queue like Lambda's event source mapping (local stack, ECS or EC2)."""
    from deploy.local.consumer import consume
    from deploy.local.topology import check_batching

    try:
        check_batching(batch_size, window)
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    with aws_errors():
        try:
            consume(queue_url, batch_size, window, timeout)
        except ConfigError as exc:
            raise fail(str(exc), 2) from exc
        except ImgpipeError as exc:
            raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add the local commands to the app."""
    app.command(cls=Command)(demo)
    app.command(cls=Command)(render)
    app.command(cls=Command)(worker)
    app.add_typer(local_app, name="local")
