"""`imgpipe demo`: the whole pipeline on this machine, from upload to contact sheet, then gone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from deploy.cli.common import Command, collect_files, console, fail, progress, say, stop_on_signals
from deploy.cli.local import check_config, check_workers
from deploy.cli.output import show
from deploy.cli.text import DataTable
from shared.errors import ImgpipeError

if TYPE_CHECKING:
    from deploy.local.demo import DemoResult
    from deploy.ops.uploads import Skipped


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

    check_workers(workers)
    check_config(QueueSettings())
    stop_on_signals()  # Ctrl-C stops the stack it starts, even when started with SIGINT ignored
    skipped: list[Skipped] = []
    if folder is None:
        from deploy.local import samples

        console.print(
            "generating sample photos: two EXIF-rotated, one with alpha, two that must be refused",
            soft_wrap=True,
        )
        files = samples.write(samples.demo_set(), out / "samples")
    else:
        selection = collect_files([folder])
        files, skipped = selection.files, selection.skipped
    console.print(
        f"starting the local stack (moto server, S3 → SNS → SQS, {workers or os.cpu_count()} workers)",
        soft_wrap=True,
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


def _demo_summary(result: DemoResult, skipped: list[Skipped]) -> None:
    # File names and failure reasons are the photos' own: every cell is literal text. `show` fits
    # the table to a terminal and never cuts it when piped, as every other table.
    table = DataTable(title=f"demo: {len(result.entries)} uploads in {result.elapsed_s:.1f} s")
    for column in ("file", "status", "variants / reason", "ready after s"):
        table.add_column(column)
    for entry in result.entries:
        if entry.status == "complete" and entry.image is not None:
            sizes = ", ".join(f"{v['name']} {v['width']}x{v['height']}" for v in entry.image["variants"])
            waited = f"{entry.waited_s:.1f}" if entry.waited_s is not None else "-"
            table.add_row(entry.filename, Text("complete", style="green"), sizes, waited)
        else:
            table.add_row(entry.filename, Text(entry.status, style="red"), entry.why, "-")
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


def register(app: typer.Typer) -> None:
    """Add `imgpipe demo` to the app."""
    app.command(cls=Command)(demo)
