"""What processing one record needs, bundled once: which delivery it is, and how far it has got."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field

from shared.settings import Settings
from worker.aws import Clients
from worker.deadline import Deadline


@dataclass
class Progress:
    """The step under way, and how many of the record's objects already have a durable outcome.

    An outcome is durable once its manifest is committed or its quarantine message is sent; what
    follows (announcing, removing superseded variants) is best effort, so a deadline there must
    not send the record back for a second DLQ entry or a second commit.
    """

    step: str = "starting"
    settled: int = 0

    def at(self, step: str) -> None:
        """Name the step now under way (for the deadline's message)."""
        self.step = step

    def settle(self) -> None:
        """One more object's outcome is durable."""
        self.settled += 1


@dataclass(frozen=True)
class Delivery:
    """Which SQS message the record is, and whether an operator moved it back from the DLQ."""

    message_id: str = ""
    redriven: bool = False


@dataclass(frozen=True)
class Job:
    """What processing needs, bundled once per record."""

    settings: Settings
    config_hash: str
    clients: Clients
    executor: Executor
    deadline: Deadline
    delivery: Delivery = field(default_factory=Delivery)
    progress: Progress = field(default_factory=Progress)
