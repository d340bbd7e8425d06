"""Durations as operators type them, one way for every command: `90s`, `15m`, `1.5h`, `3d`, `1w`,
or a sum such as `1h30m`. A bare number is refused: seconds or hours would be a guess."""

from __future__ import annotations

import re

UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
EXAMPLES = "90s, 15m, 1.5h, 3d, 1w or 1h30m"


class DurationError(ValueError):
    """Text that is not a duration; the message says what is accepted."""


def parse_duration(text: str) -> float:
    """Seconds in `text`; raises `DurationError` naming the accepted forms."""
    cleaned = text.strip().lower()
    if not cleaned or _PART.sub("", cleaned):
        raise DurationError(f"not a duration: {text!r} (a number and a unit: {EXAMPLES})")
    return sum(float(amount) * UNITS_S[unit] for amount, unit in _PART.findall(cleaned))
