"""The lanes, as an operator sees them: each lane's queue and the router's DLQ (docs/fairness.md).

`imgpipe status` shows them beside the work queue and the DLQ when the deployment has lanes
(`IMGPIPE_INTERACTIVE_QUEUE_URL`, `IMGPIPE_BULK_QUEUE_URL`, `IMGPIPE_ROUTER_DLQ_URL`, Terraform's
outputs); `backlog` is what is still to do across every queue, for whoever waits for the pipeline
to go idle (a queue drained by the router may be empty while its lanes are not).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deploy.ops.dlq import read
from deploy.ops.dlq.report import QueueDepth, ReadReport, queue_depth

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient


@dataclass(frozen=True)
class LaneUrls:
    """Where the lanes are; `router_dlq` is optional (a deployment may not export it)."""

    interactive: str
    bulk: str
    router_dlq: str | None = None

    def queues(self) -> dict[str, str]:
        """Each lane's name and queue URL."""
        return {"interactive": self.interactive, "bulk": self.bulk}


@dataclass(frozen=True)
class LaneStatus:
    """Each lane's depth, and the router's DLQ read in full (by error type)."""

    lanes: dict[str, QueueDepth]
    router_dlq: QueueDepth | None = None
    router_dlq_read: ReadReport | None = None
    router_dlq_by_error: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        """`{"interactive": DEPTH, "bulk": DEPTH, "routerDlq": DEPTH + {"total", "byErrorType",
        "read"} | null}`, DEPTH being `{"visible", "inFlight", "delayed"}`."""
        document: dict[str, Any] = {name: depth_json(depth) for name, depth in self.lanes.items()}
        document["routerDlq"] = None
        if self.router_dlq is not None and self.router_dlq_read is not None:
            document["routerDlq"] = {
                **depth_json(self.router_dlq),
                "total": sum(self.router_dlq_by_error.values()),
                "byErrorType": dict(self.router_dlq_by_error.most_common()),
                "read": self.router_dlq_read.as_json(),
            }
        return document


def depth_json(depth: QueueDepth) -> dict[str, int]:
    """`{"visible", "inFlight", "delayed"}`."""
    return {"visible": depth.visible, "inFlight": depth.in_flight, "delayed": depth.delayed}


def lane_status(sqs: SQSClient, urls: LaneUrls) -> LaneStatus:
    """Each lane's depth and, when its URL is known, the router's DLQ by error type."""
    lanes = {name: queue_depth(sqs, url) for name, url in urls.queues().items()}
    if urls.router_dlq is None:
        return LaneStatus(lanes)
    messages, report = read(sqs, urls.router_dlq)
    by_error = Counter(message.error_type for message in messages)
    return LaneStatus(lanes, report.at_start, report, by_error)


def backlog(sqs: SQSClient, urls: Iterable[str]) -> int:
    """Messages still queued, in flight or delayed across `urls` (the work queue and its lanes)."""
    total = 0
    for url in urls:
        depth = queue_depth(sqs, url)
        total += depth.visible + depth.in_flight + depth.delayed
    return total


def work_queue_urls(env: Mapping[str, str]) -> list[str]:
    """Every queue upload work waits in: the work queue, and each lane when `env` names them."""
    names = ("IMGPIPE_QUEUE_URL", "IMGPIPE_INTERACTIVE_QUEUE_URL", "IMGPIPE_BULK_QUEUE_URL")
    return [env[name] for name in names if env.get(name)]
