"""One duration syntax for every command that takes one (dlq --older-than, sweep --older-than)."""

from __future__ import annotations

import pytest

from deploy.ops.durations import DurationError, parse_duration

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1.5h", 5400), ("2H", 7200), (" 3d ", 259200), ("1w", 604800),
     ("1h30m", 5400), ("0s", 0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "45", "h", "1 hour", "-1h", "1h junk", "banana", "2h-"])
def test_anything_else_is_refused_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(DurationError, match=r"not a duration: .*a number and a unit: 90s, 15m, 1.5h, 3d, 1w"):
        parse_duration(text)
