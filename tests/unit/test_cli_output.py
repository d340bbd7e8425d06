"""Tables people read: folded, never cut, in a narrow terminal and when piped."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.table import Table

from deploy.cli import output

pytestmark = pytest.mark.unit

KEY = "uploads/alice/img_0ebf564234c3455ea54109d6ef0fe50c.png"


def _table() -> Table:
    table = Table("object key", "reason")
    table.add_row(KEY, "content is not an allowed image format (looks like text)")
    return table


def test_a_narrow_terminal_folds_a_long_key_instead_of_cutting_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 40-column terminal
    screen = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=screen, width=40, force_terminal=True, no_color=True))
    # When a table with a 54-character key is shown
    output.show(_table())
    # Then no cell ends in an ellipsis, and the key can be read back whole from the folded lines
    text = screen.getvalue()
    assert "…" not in text
    cells = "".join(re.findall(r"│\s*(\S+)\s*│", text))
    assert KEY in cells.replace(" ", "")
