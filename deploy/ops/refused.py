"""What an AWS batch call (SendMessageBatch, DeleteObjects) refused, entry by entry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refused:
    """One key the call did not take, with AWS's code and message."""

    key: str
    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        """The `{"key", "code", "message"}` entry of a command's `failed` list."""
        return {"key": self.key, "code": self.code, "message": self.message}
