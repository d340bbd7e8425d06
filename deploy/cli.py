"""The `imgpipe` command: the operator's and the new user's way in.

Expected failures (a missing folder, a file that is not an image) end in a one-line reason and
a non-zero exit, never a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shared.errors import PermanentError
from shared.variants import DEFAULT_VARIANTS

app = typer.Typer(
    help="imgpipe: turn uploaded images into web-ready size variants with libvips.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif"}


def _inputs(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            err.print(f"imgpipe: no such file or folder: {path}")
            raise typer.Exit(2)
    if not files:
        err.print(f"imgpipe: no images found in {', '.join(map(str, paths))}")
        raise typer.Exit(2)
    return files


def render_files(files: list[Path], out: Path) -> tuple[int, int]:
    """Render every file's default variants into `out/<file stem>/`; returns (done, failed)."""
    from worker import engine

    table = Table(title=f"variants written to {out}/")
    for column in ("file", "source", "variants", "ms", "result"):
        table.add_column(column)
    done = failed = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rendering", total=len(files))
        for path in files:
            started = time.perf_counter()
            try:
                result = engine.render(path.read_bytes(), DEFAULT_VARIANTS)
            except PermanentError as exc:
                failed += 1
                table.add_row(path.name, "-", "-", "-", f"[red]{exc.error_type}[/]: {exc}")
            else:
                done += 1
                folder = out / path.stem
                folder.mkdir(parents=True, exist_ok=True)
                for variant in result.variants:
                    (folder / f"{variant.name}.{_extension(variant.format)}").write_bytes(variant.data)
                source = f"{result.source.format} {result.source.width}x{result.source.height}"
                sizes = " ".join(f"{v.name}={v.width}x{v.height}" for v in result.variants)
                ms = f"{(time.perf_counter() - started) * 1000:.0f}"
                table.add_row(path.name, source, sizes, ms, "[green]ok[/]")
            progress.advance(task)
    console.print(table)
    return done, failed


def _extension(fmt: str) -> str:
    return "jpg" if fmt == "jpeg" else fmt


@app.command()
def render(
    paths: Annotated[list[Path], typer.Argument(help="image files or folders")],
    out: Annotated[Path, typer.Option(help="folder for the variants")] = Path("out"),
) -> None:
    """Render the default variants of local image files (no AWS involved)."""
    done, failed = render_files(_inputs(paths), out)
    console.print(f"{done} rendered, {failed} refused")
    if done == 0:
        raise typer.Exit(1)


@app.command()
def demo(
    folder: Annotated[Path | None, typer.Argument(help="images to use (default: generated samples)")] = None,
    out: Annotated[Path, typer.Option(help="folder for the variants")] = Path("out"),
) -> None:
    """Show the engine at work: generated sample photos (or FOLDER) rendered into OUT."""
    if folder is None:
        from loadtest import samples

        console.print("generating sample photos (one rotated, one with alpha, two that must be refused)")
        files = samples.write(samples.demo_set(), out / "samples")
    else:
        files = _inputs([folder])
    done, failed = render_files(files, out)
    console.print(f"demo: {done} images rendered, {failed} refused with a reason; variants are in {out}/")


def main() -> None:
    """Console-script entry point."""
    app()
