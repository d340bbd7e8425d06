"""How a read of a queue went, and what SQS counted at its start, to say when a listing may be incomplete.

SQS's counts are approximate, and messages another reader holds cannot be seen at all; comparing
what a read saw with what SQS counted when it began is how a listing knows to say "may be
incomplete" instead of passing off part of a queue as all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.literals import QueueAttributeNameType


@dataclass(frozen=True)
class QueueDepth:
    """SQS's approximate counts for one queue."""

    visible: int
    in_flight: int
    delayed: int


DEPTH_NAMES: tuple[QueueAttributeNameType, ...] = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def queue_depth(sqs: SQSClient, url: str) -> QueueDepth:
    """Visible, in-flight and delayed message counts, from one `All` request.

    Asked for by name, the moto server rebuilds every attribute (an O(messages) scan) once per
    name it checks; `All` builds them once. Real SQS answers both alike.
    """
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    visible, in_flight, delayed = (int(attributes.get(name, 0)) for name in DEPTH_NAMES)
    return QueueDepth(visible, in_flight, delayed)


@dataclass
class ReadReport:
    """How a read went: what the queue said at the start, what was seen, why it stopped."""

    at_start: QueueDepth
    seen: int = 0
    stopped_by: str = "end"  # end | count | time | caller
    release_failures: int = 0

    @property
    def complete(self) -> bool:
        """True when the read reached the end and saw at least what SQS counted at the start."""
        start = self.at_start
        reached_end = self.stopped_by == "end" and self.seen >= start.visible
        return reached_end and start.in_flight == 0 and start.delayed == 0

    def warning(self) -> str | None:
        """Why the listing may be incomplete, in one line; None when it is not."""
        if self.complete or self.stopped_by == "caller":
            return None
        start, reasons = self.at_start, []
        if self.stopped_by in ("count", "time"):
            reasons.append(f"stopped at the {self.stopped_by} limit")
        if start.in_flight:
            reasons.append(f"{start.in_flight} held by another reader")
        if start.delayed:
            reasons.append(f"{start.delayed} delayed")
        if self.seen < start.visible:
            reasons.append(f"SQS counted ~{start.visible}")
        return f"may be incomplete: read {self.seen} messages; " + ", ".join(reasons)

    def as_json(self) -> dict[str, Any]:
        """`{"seen", "complete", "stoppedBy", "approximateAtStart": {"visible", "inFlight", "delayed"}}`."""
        start = self.at_start
        depth = {"visible": start.visible, "inFlight": start.in_flight, "delayed": start.delayed}
        return {
            "seen": self.seen,
            "complete": self.complete,
            "stoppedBy": self.stopped_by,
            "approximateAtStart": depth,
        }
