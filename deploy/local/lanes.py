"""The lanes on the local stack: the queues Terraform's lanes.tf creates, the router process, and
which worker process consumes which lane (docs/fairness.md).

S3 -> SNS -> the work queue, as before; the router (`worker.router.handler`, in a process of its
own, fed by the same poller the workers use) sends each record to the interactive or the bulk
queue; each lane has its own pool of worker processes, whose size stands for its event source
mapping's maximum concurrency, exactly as the one pool did for the one queue. On Lambda every
concurrent invocation has its own CPU, so a bulk backlog never slows an interactive render; on
one machine the pools share its cores, so bulk workers run at a lower CPU priority (`bulk_nice`)
and, like the bulk lane's capped concurrency, under a ceiling (`bulk_cpu_share` of the cores,
`deploy.local.cpu_cap`): they take what the interactive ones leave, up to the ceiling.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from deploy.local import cpu_cap
from deploy.local.cpu_cap import BULK_CPU_SHARE
from deploy.local.poller import PollerConfig
from deploy.local.topology import DLQ_RETENTION_S, QUEUE_RETENTION_S, QueueSettings, Topology

ROUTER_LOG = "router"


@dataclass(frozen=True)
class LanePlan:
    """How the local stack runs the lanes (the event source mappings' settings, in processes)."""

    interactive_workers: int = 2  # the interactive mapping's maximum concurrency (Lambda's least is 2)
    interactive_batch_size: int = 4  # records a worker has in flight at once (IMGPIPE_CONCURRENCY)
    bulk_nice: int = 19  # bulk workers take only the cores nothing else wants (0: share them equally)
    # records a bulk worker has in flight (IMGPIPE_CONCURRENCY): its S3 requests share the one moto
    # server with the interactive lane's, which answers each of N requests at once N times slower
    bulk_concurrency: int = 2
    # S3 requests the whole bulk pool may have in the moto server at once (None: any number): with
    # a number, they reach it through a gate (`deploy.local.faults` with no faults, at `bulk_nice`),
    # since moto answers every request in one process and a backlog's variant uploads make each
    # interactive request share it; on AWS each lane meets S3 on its own. Off by default: it costs
    # the bulk lane about a sixth of its throughput here (docs/fairness.md, "Measured")
    bulk_s3_at_once: int | None = None
    # the bulk pool's CPU ceiling, a share of the machine's cores (None: none, only `bulk_nice`):
    # the single-machine form of the bulk lane's maximum concurrency (`deploy.local.cpu_cap`), so
    # the import leaves the interactive lane room even while no single photo needs it
    bulk_cpu_share: float | None = BULK_CPU_SHARE
    routers: int = 2  # router processes: its mapping's concurrency (Lambda's least is 2)
    router_batch_size: int = 10
    router_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.interactive_workers < 1:
            raise ValueError(f"interactive workers must be 1 or more, not {self.interactive_workers}")
        if self.routers < 1:
            raise ValueError(f"routers must be 1 or more, not {self.routers}")
        if not 0 <= self.bulk_nice <= 19:
            raise ValueError(f"bulk nice must be 0-19, not {self.bulk_nice}")
        if self.bulk_concurrency < 1:
            raise ValueError(f"bulk concurrency must be 1 or more, not {self.bulk_concurrency}")
        if self.bulk_s3_at_once is not None and self.bulk_s3_at_once < 1:
            raise ValueError(f"bulk S3 requests at once must be 1 or more, not {self.bulk_s3_at_once}")
        if self.bulk_cpu_share is not None and not 0 < self.bulk_cpu_share <= 1:
            raise ValueError(
                f"the bulk pool's CPU share is above 0 and at most 1, not {self.bulk_cpu_share:g}"
            )

    def bulk_cores(self, cores: float | None = None) -> float | None:
        """The bulk pool's CPU ceiling in cores, of `cores` (None: those this process can use)."""
        if self.bulk_cpu_share is None:
            return None
        return self.bulk_cpu_share * (cores or cpu_cap.usable_cores())


@dataclass(frozen=True)
class LaneQueues:
    """The lanes' queues and the router's DLQ, provisioned."""

    interactive_url: str
    interactive_arn: str
    bulk_url: str
    bulk_arn: str
    router_dlq_url: str
    router_dlq_arn: str

    def environment(self, queue: QueueSettings) -> dict[str, str]:
        """Variables that point the router and the CLI at the lanes."""
        return {
            "IMGPIPE_INTERACTIVE_QUEUE_URL": self.interactive_url,
            "IMGPIPE_BULK_QUEUE_URL": self.bulk_url,
            "IMGPIPE_ROUTER_DLQ_URL": self.router_dlq_url,
            "IMGPIPE_MAX_RECEIVE_COUNT": str(queue.max_receive_count),
        }


@dataclass(frozen=True)
class Slot:
    """One worker process: the queue it consumes as one concurrency slot, and its CPU priority."""

    config: PollerConfig
    nice: int = 0
    concurrency: int | None = None  # IMGPIPE_CONCURRENCY for this process (None: the stack's)
    gated: bool = False  # reaches AWS through the bulk lane's gate (`LanePlan.bulk_s3_at_once`)
    capped: bool = False  # runs in the bulk pool's CPU group (`LanePlan.bulk_cpu_share`)


def provision_lanes(
    session: Any, prefix: str, topology: Topology, queue: QueueSettings, plan: LanePlan | None = None
) -> LaneQueues:
    """Create (idempotently) both lanes (their failures to the DLQ) and the router's DLQ; the work
    queue, now the router's, gets the router's DLQ and a visibility timeout made for the router's
    timeout (6x, as for any function its event source mapping feeds)."""
    sqs = session.client("sqs")
    router_dlq = _queue(sqs, f"{prefix}-router-dlq", {"MessageRetentionPeriod": str(DLQ_RETENTION_S)})
    visibility = {"VisibilityTimeout": str(round(6 * router_timeout_s(plan or LanePlan(), queue)))}
    sqs.set_queue_attributes(
        QueueUrl=topology.queue_url, Attributes={**_redrive(router_dlq[1], queue), **visibility}
    )
    lane = {
        "VisibilityTimeout": str(queue.visibility_timeout_s),
        "MessageRetentionPeriod": str(QUEUE_RETENTION_S),
        **_redrive(topology.dlq_arn, queue),
    }
    interactive = _queue(sqs, f"{prefix}-work-interactive", lane)
    bulk = _queue(sqs, f"{prefix}-work-bulk", lane)
    return LaneQueues(*interactive, *bulk, *router_dlq)


def worker_slots(
    plan: LanePlan | None, lanes: LaneQueues | None, base: PollerConfig, bulk_workers: int
) -> list[Slot]:
    """The bulk pool (`bulk_workers`, at `bulk_nice`), then the interactive pool (no batching
    window); without lanes, `bulk_workers` processes on the work queue (`base`)."""
    if plan is None or lanes is None:
        return [Slot(base)] * bulk_workers
    bulk = replace(base, queue_url=lanes.bulk_url, queue_arn=lanes.bulk_arn)
    interactive = replace(
        base,
        queue_url=lanes.interactive_url,
        queue_arn=lanes.interactive_arn,
        batch_size=plan.interactive_batch_size,
        batching_window_s=0.0,
    )
    gated, capped = plan.bulk_s3_at_once is not None, plan.bulk_cpu_share is not None
    bulk_slot = Slot(bulk, plan.bulk_nice, plan.bulk_concurrency, gated=gated, capped=capped)
    return [bulk_slot] * bulk_workers + [Slot(interactive)] * plan.interactive_workers


def spawn_router(
    env: dict[str, str], plan: LanePlan, queue: QueueSettings, queue_url: str, log: Path | None
) -> subprocess.Popen[bytes]:
    """Start the router process on the work queue, its output appended to `log`; its timeout is
    never above the workers' (the work queue's visibility timeout is made for theirs)."""
    command = [
        sys.executable, "-m", "deploy.local.routing",
        "--queue-url", queue_url,
        "--batch-size", str(plan.router_batch_size),
        "--timeout", str(router_timeout_s(plan, queue)),
    ]  # fmt: skip
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    sink = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        if log is not None:
            sink.close()  # type: ignore[union-attr]  # the child holds its own copy


def router_timeout_s(plan: LanePlan, queue: QueueSettings) -> float:
    """The router's function timeout: the plan's, never above the workers'."""
    return min(plan.router_timeout_s, queue.function_timeout_s)


def _redrive(dlq_arn: str, queue: QueueSettings) -> dict[str, str]:
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
    return {"RedrivePolicy": json.dumps(policy)}


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, str(found["QueueArn"])
