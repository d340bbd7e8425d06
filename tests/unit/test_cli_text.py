"""Text from outside (keys, file names, reasons) is shown as the characters it is: never read as
rich markup (a crash for `[/x]`, a hyperlink for `[link=...]`), control characters as escapes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from deploy.cli import output
from deploy.cli.text import DataTable, literal, shown
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no AWS configuration)
    invoke,
)

pytestmark = pytest.mark.unit

HOSTILE = [
    "uploads/u1/[/x].jpg",
    "[link=https://evil.example]click me[/link].jpg",
    "[bold]loud[/bold]",
    "a\x1b]8;;https://evil.example\x07b\x1b]8;;\x07.jpg",  # a terminal hyperlink, by escape sequence
    "clear\x1b[2J\x1b[H.jpg",
    "\u202egpj.exe",  # right-to-left override: reads as exe.jpg
    "two\nlines\r\x00\x7f\x9b.jpg",
]


def terminal() -> tuple[Console, io.StringIO]:
    """A colour terminal that supports hyperlinks: where markup and escapes would do harm."""
    screen = io.StringIO()
    return Console(file=screen, force_terminal=True, color_system="truecolor", width=200), screen


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_cell_prints_as_its_characters_and_nothing_more(value: str) -> None:
    # Given a table whose title and cells are upload-controlled text, on a colour terminal
    console, screen = terminal()
    table = DataTable("key", "name", title=value, caption=value)
    table.add_row(value, value)
    # When it is printed
    console.print(table)
    printed = screen.getvalue()
    # Then it did not crash, holds the text with control characters escaped, and has no link,
    # no cursor movement and no character the value brought along
    assert printed.count(shown(value)) == 4
    assert "\x1b]" not in printed and "\x1b[2J" not in printed and "\u202e" not in printed
    assert "\x07" not in printed and "\x00" not in printed


def test_shown_escapes_what_a_terminal_would_act_on_and_keeps_the_rest() -> None:
    assert shown("café [x] 图片 😀.jpg") == "café [x] 图片 😀.jpg"
    assert shown("a\x1b[31mb\tc\nd\u202ee\u2028") == "a\\x1b[31mb\\tc\\nd\\u202ee\\u2028"


def test_styled_text_passed_as_text_keeps_its_style() -> None:
    # Given a cell this code styles itself, beside a hostile one
    console, screen = terminal()
    table = DataTable("status", "key")
    table.add_row(literal("complete", style="green"), "[red]not red[/red]")
    console.print(table)
    # Then the style is applied and the markup-looking key is not
    assert "\x1b[32mcomplete" in screen.getvalue() and "[red]not red[/red]" in screen.getvalue()


def test_a_failure_naming_a_hostile_path_is_one_literal_line(tmp_path: Path) -> None:
    # When a file that does not exist is named with markup and a hyperlink escape in its name
    name = "[link=https://evil.example]x[/link]\x1b]8;;https://evil.example\x07.jpg"
    result = invoke("upload", name)
    # Then the one line shows the name as written (as a path), escape included as text
    line = assert_failure(result, 2, "no such file or folder")
    assert line.endswith(shown(Path(name))) and "\x1b" not in result.stderr


def test_render_table_shows_hostile_paths_and_reasons_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file whose path is markup (folder `a[`, file `x][link=...]y.jpg`), and not an image
    name = "a[/x][link=https:evil.example]y.jpg"
    (tmp_path / "a[").mkdir()
    (tmp_path / name).write_bytes(b"not an image at all")
    screen = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=screen, force_terminal=True, width=300))
    # When it is rendered
    result = invoke("render", name, "--out", "out")
    # Then it fails as a file, not as a table: the row names it as written
    assert_failure(result, 1, "1 of 1 files failed")
    assert name in screen.getvalue() and "\x1b]" not in screen.getvalue()
