"""Which DLQ messages a command acts on: by error type, by user, by age.

Error types are matched case-insensitively against the known ones, and a name that matches none
is refused (listing the known ones) instead of silently selecting nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from deploy.ops import durations
from deploy.ops.dlq.message import Quarantined, known_error_types, parse_time


class SelectionError(ValueError):
    """A filter the operator gave cannot select anything as written (a usage error)."""


def canonical_types(names: Iterable[str]) -> frozenset[str]:
    """The known error types these names denote, whatever their case; raises on an unknown one."""
    known = {name.lower(): name for name in known_error_types()}
    chosen = set()
    for name in names:
        if name.strip().lower() not in known:
            raise SelectionError(f"unknown error type {name!r}; known types: {', '.join(known.values())}")
        chosen.add(known[name.strip().lower()])
    return frozenset(chosen)


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `1.5h`, `3d`, `1w`, or a sum such as `1h30m` (see `deploy.ops.durations`)."""
    try:
        return timedelta(seconds=durations.parse_duration(text))
    except durations.DurationError as exc:
        raise SelectionError(str(exc)) from exc


@dataclass(frozen=True)
class Selection:
    """Messages of these error types (any when empty), these users, failed before `older_than` ago."""

    error_types: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    older_than: timedelta | None = None

    @classmethod
    def of(
        cls, error_types: Iterable[str] = (), users: Iterable[str] = (), older_than: str | None = None
    ) -> Selection:
        """Validate what an operator typed; raises `SelectionError` naming what is wrong."""
        return cls(
            canonical_types(error_types),
            frozenset(users),
            parse_duration(older_than) if older_than else None,
        )

    def matches(self, message: Quarantined, now: datetime | None = None) -> bool:
        """True when `message` passes every filter given."""
        if self.error_types and message.error_type.lower() not in {t.lower() for t in self.error_types}:
            return False
        if self.users and message.user not in self.users:
            return False
        if self.older_than is None:
            return True
        when = parse_time(message.when) if message.when else None
        return when is not None and when <= (now or datetime.now(UTC)) - self.older_than

    def describe(self) -> str:
        """The filters in words, for prompts and summaries."""
        parts = []
        if self.error_types:
            parts.append("type " + "/".join(sorted(self.error_types)))
        if self.users:
            parts.append("user " + "/".join(sorted(self.users)))
        if self.older_than is not None:
            parts.append(f"older than {self.older_than}")
        return ", ".join(parts) or "every message"

    def as_json(self) -> dict[str, object]:
        """`{"errorTypes": [...], "users": [...], "olderThanSeconds": int|null}`."""
        return {
            "errorTypes": sorted(self.error_types),
            "users": sorted(self.users),
            "olderThanSeconds": int(self.older_than.total_seconds()) if self.older_than else None,
        }
