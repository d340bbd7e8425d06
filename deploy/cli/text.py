"""Text from outside (object keys, file names, failure reasons, message ids) as a terminal shows it.

Rich parses every plain string it prints as markup: a key like `uploads/u1/[/x].jpg` crashes a
table, and a file name like `[link=https://evil]x[/link]` puts a link into an operator's
terminal. A `rich.text.Text` is never parsed, so everything that did not come from this code goes
through `literal`, and tables are `DataTable`s, whose plain-string cells, title and caption are
made literal by construction. Rich does not strip ESC either, so `literal` also shows control,
bidirectional and line-separator characters as escapes (`\\x1b`, `\\u202e`, `\\n`): an upload
cannot move the cursor, hide text or make one row look like two.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import RenderableType
from rich.style import StyleType
from rich.table import Table
from rich.text import Text

# C0 and C1 controls, DEL, the bidi embeddings/overrides/isolates and marks, line/paragraph separators.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def shown(value: object) -> str:
    """`str(value)` with every character a terminal would act on instead of show, escaped."""
    return _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


def literal(value: object, style: StyleType = "") -> Text:
    """`value` as text shown exactly: never parsed as markup, control characters escaped."""
    return value if isinstance(value, Text) else Text(shown(value), style=style)


def _cell(value: RenderableType | None) -> RenderableType | None:
    return literal(value) if isinstance(value, str) else value


class DataTable(Table):
    """A table of data: its plain-string cells, title and caption are literal text, never markup.

    Headers stay markup (they are this code's own words); anything else that should be styled is
    passed as a `Text` already.
    """

    def __init__(self, *headers: Any, title: str | Text | None = None, caption: str | Text | None = None,
                 **options: Any) -> None:  # fmt: skip
        super().__init__(*headers, title=_cell(title), caption=_cell(caption), **options)  # type: ignore[arg-type]

    def add_row(
        self, *renderables: RenderableType | None, style: StyleType | None = None, end_section: bool = False
    ) -> None:
        """`Table.add_row`, each plain string made literal."""
        super().add_row(*(_cell(value) for value in renderables), style=style, end_section=end_section)
