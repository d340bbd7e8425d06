"""How commands print data: `--json` documents for scripts, tables for people.

Machine output goes straight to stdout as one JSON document (never through rich, so nothing is
wrapped, coloured or cut). Tables go to the terminal at its width, their cells folded rather than
cut; piped, they are printed at their natural width.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table

from deploy.cli.common import console


def print_json(document: Any) -> None:
    """Write `document` to stdout as JSON (UTF-8, indented, keys in the order given)."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def show(renderable: RenderableType) -> None:
    """Print a table (or any rich renderable): fitted to a terminal, never truncated when piped.

    A table's cells fold onto more lines rather than end in an ellipsis: people copy keys, ids
    and reasons out of them whole.
    """
    if isinstance(renderable, Table):
        for column in renderable.columns:
            column.overflow = "fold"
    if console.is_terminal:
        console.print(renderable)
    else:
        Console(file=sys.stdout, width=100_000, no_color=True, highlight=False).print(renderable)
