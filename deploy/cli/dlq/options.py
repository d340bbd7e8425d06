"""What the `dlq` commands share: their options, filters, tables and confirmations."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from deploy.cli import common
from deploy.cli.common import fail
from deploy.cli.output import show
from deploy.cli.text import DataTable
from deploy.ops.dlq import (
    ReadReport,
    Selection,
    SelectionError,
)

CONFIRM_ABOVE = 10  # moving more than this many interactively asks first

Types = Annotated[
    list[str] | None,
    typer.Option("--type", metavar="TYPE", help="only this error type, any case (repeat for more)"),
]
Users = Annotated[list[str] | None, typer.Option("--user", metavar="USER", help="only this user's uploads")]
OlderThan = Annotated[
    str | None, typer.Option(metavar="DURATION", help="only failures older than this: 90s, 15m, 2h, 3d, 1w")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
Force = Annotated[bool, typer.Option("--force", help="overwrite an existing export file")]


def need(dlq_url: str) -> str:
    if not dlq_url:
        raise fail("set --dlq-url (or IMGPIPE_DLQ_URL)", 2)
    return dlq_url


def selection(types: list[str] | None, users: list[str] | None, older_than: str | None = None) -> Selection:
    try:
        return Selection.of(types or (), users or (), older_than)
    except SelectionError as exc:
        raise fail(str(exc), 2) from exc


def warn(report: ReadReport) -> None:
    if (warning := report.warning()) is not None:
        common.warn(warning)


@contextmanager
def file_errors() -> Iterator[None]:
    try:
        yield
    except FileExistsError as exc:
        raise fail(str(exc), 2) from exc
    except OSError as exc:
        raise fail(f"cannot write the export: {exc}") from exc


def fresh(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise fail(f"{path} exists; pass --force to overwrite it", 2)


def table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    # Fold, never cut: operators copy keys, ids and reasons out of these tables whole. Every cell
    # and the title are literal text: keys, file names and reasons come from uploaders.
    table = DataTable(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    show(table)


def interactive() -> bool:
    return sys.stdin.isatty()


def unasked(what: str, yes: bool) -> None:
    """Refuse, before anything is read, to move messages unasked when nobody can be asked."""
    if not yes and not interactive():
        raise fail(
            f"not a terminal: pass --yes to {what} without asking (or --dry-run to see what would move)", 2
        )


def confirm(what: str, expected: int | None, yes: bool) -> None:
    """Ask before moving more than a few messages (unless --yes)."""
    if yes or (expected is not None and expected <= CONFIRM_ABOVE):
        return
    if not typer.confirm(f"{what} (~{expected if expected is not None else 'all'} messages)?", err=True):
        raise fail("nothing moved")
