"""Locust's distributed mode: which uploads of a run each worker process sends.

Every locust worker runs the locustfile's setup, so each takes every `uploaders`-th upload of
the run from its worker index (the mix stays the run's as a whole) and writes its own ledger;
the runner merges them. Kept apart from the locustfile, which cannot be imported outside locust.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class Options(Protocol):
    """What a share is read from: locust's parsed options (`--processes` too, where it has one)."""

    @property
    def uploaders(self) -> int:
        """`--uploaders`: locust worker processes in all (0: `--processes`, else 1)."""
        ...


@dataclass(frozen=True)
class Share:
    """Which uploads of the run this process sends: every `uploaders`-th, from `index`."""

    index: int = 0
    uploaders: int = 1

    @classmethod
    def of(cls, options: Options, worker_index: int | None) -> Share:
        """This process's share: by its worker index in distributed mode, else all of it."""
        if worker_index is None:
            return cls()
        uploaders = options.uploaders or getattr(options, "processes", None) or 1
        index = worker_index
        if uploaders < 1 or index >= uploaders:
            raise ValueError(f"worker {index} has no share of {uploaders} uploaders: set --uploaders")
        return cls(index, uploaders)

    def count(self, images: int) -> int:
        """How many of `images` are this process's."""
        return len(range(self.index, images, self.uploaders))

    def ledger(self, path: Path) -> Path:
        """Where this process writes its uploads: `path` itself, or `uploads.<index>.jsonl`."""
        return path if self.uploaders == 1 else path.with_suffix(f".{self.index}{path.suffix}")
