"""`imgpipe render`: the engine alone on local files, no AWS involved."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from deploy.cli.common import Command, Json, fail, nothing_to_do, progress, settings
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable, literal


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


def register(app: typer.Typer) -> None:
    """Add `imgpipe render` to the app."""
    app.command(cls=Command)(render)
