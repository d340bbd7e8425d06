"""The local stack runs the lanes as Terraform deploys them: S3 -> SNS -> the work queue -> the
router process -> an interactive and a bulk queue, each consumed by its own pool of worker
processes (the bulk pool at a lower CPU priority); the router is reported when it dies and, killed
mid-batch, replaced without losing an upload. Without lanes the workers consume the work queue."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from deploy.local.lanes import LanePlan
from deploy.local.poller import PollerConfig
from deploy.local.stack import LocalStack
from shared.keys import manifest_key
from shared.lanes import LANE_METADATA
from tests.fixtures import images

pytestmark = pytest.mark.integration

IDLE_WAIT_S = PollerConfig.idle_wait_s


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "IMGPIPE_")):
            monkeypatch.delenv(name)


def _upload(stack: LocalStack, key: str, lane: str | None = None) -> None:
    s3 = stack.session.client("s3")
    metadata = {LANE_METADATA: lane} if lane else {}
    s3.put_object(
        Bucket=stack.topology.input_bucket, Key=key, Body=images.photo_jpeg(96, 64), Metadata=metadata
    )


def _wait_complete(stack: LocalStack, image_ids: list[str], timeout_s: float = 60) -> dict[str, Any]:
    s3 = stack.session.client("s3")
    found: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    while len(found) < len(image_ids) and time.monotonic() < deadline:
        for image_id in set(image_ids) - set(found):
            try:
                body = s3.get_object(Bucket=stack.topology.output_bucket, Key=manifest_key(image_id))["Body"]
            except s3.exceptions.NoSuchKey:
                continue
            found[image_id] = json.loads(body.read())["status"]
        time.sleep(0.2)
    return found


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _environ(pid: int, name: str) -> str | None:
    """Variable `name` in a worker process's environment, None when unset."""
    for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if entry.startswith(name.encode() + b"="):
            return entry.split(b"=", 1)[1].decode()
    return None


def _concurrency(pid: int) -> str | None:
    """IMGPIPE_CONCURRENCY in a worker process's environment, None when unset."""
    return _environ(pid, "IMGPIPE_CONCURRENCY")


def _queue_of(pid: int) -> str:
    """The queue a worker process polls, once it runs as the worker (after fork, and `nice`, exec)."""
    deadline = time.monotonic() + 10
    while True:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"deploy.cli" in argv or time.monotonic() > deadline:
            return argv[argv.index(b"--queue-url") + 1].decode()
        time.sleep(0.05)


def test_each_lane_has_its_own_pool_and_nothing_is_lost_when_the_router_dies(tmp_path: Path) -> None:
    # Given a stack with lanes: one bulk worker, two interactive ones
    with LocalStack(workers=1, log_dir=tmp_path / "logs", lanes=LanePlan(interactive_workers=2)) as stack:
        env = stack.environment()
        # Then it exports the lanes, and each worker process consumes its lane at its priority
        queues = [_queue_of(pid) for pid in stack.worker_pids()]  # each now runs as the worker
        assert queues == [env["IMGPIPE_BULK_QUEUE_URL"]] + [env["IMGPIPE_INTERACTIVE_QUEUE_URL"]] * 2
        assert [_nice(pid) for pid in stack.worker_pids()] == [19, 0, 0]
        # And so is its scheduling group, where the kernel has autogroups (one a session: each
        # worker's group would otherwise share the cores equally with the others, nice or not)
        groups = [Path(f"/proc/{pid}/autogroup") for pid in stack.worker_pids()]
        if all(group.exists() for group in groups):
            assert [group.read_text().split()[-1] for group in groups] == ["19", "0", "0"]
        # And the bulk worker has fewer records in flight, so its S3 requests leave the one moto
        # server free for the interactive lane's
        assert [_concurrency(pid) for pid in stack.worker_pids()][0] == "2"
        # And the bulk worker, only it, runs under the pool's CPU ceiling, where the machine has one
        cap = stack.bulk_cap
        if cap is not None:
            assert cap.cores == LanePlan().bulk_cores()
            assert [_in_group(pid, cap.path.name) for pid in stack.worker_pids()] == [True, False, False]
        assert env["IMGPIPE_ROUTER_DLQ_URL"].endswith("/imgpipe-router-dlq")
        # When an app's single upload and a batch call's upload arrive, then both complete
        _upload(stack, "uploads/alice/one.jpg")
        _upload(stack, "uploads/bob/many.jpg", lane="bulk")
        assert _wait_complete(stack, ["one", "many"]) == {"one": "complete", "many": "complete"}
        # When both routers are SIGKILLed, then fresh ones take their place and the next upload completes
        assert len(stack.routers) == 2
        first = [router.pid for router in stack.routers]
        assert [stack.kill_router(0), stack.kill_router(1)] == first
        assert not {router.pid for router in stack.routers} & set(first)
        # (a message the dead router's pending long poll took is back only after the visibility
        # timeout, as on SQS: upload once that poll has ended)
        time.sleep(IDLE_WAIT_S + 1)
        _upload(stack, "uploads/alice/after.jpg")
        assert _wait_complete(stack, ["after"]) == {"after": "complete"}
        assert stack.alive(), stack.failure()
        # And a router that dies on its own is reported by name
        stack.routers[1].kill()
        stack.routers[1].wait()
        assert not stack.alive()
        assert stack.failure().startswith("router 1 exited with code -9")
    logs = [(tmp_path / "logs" / f"router-{n}.log").read_text().replace(" ", "") for n in (0, 1)]
    assert any('"RoutedBulk":[1.0]' in log for log in logs)
    assert cap is None or not cap.path.exists()  # the stack's stop removed its group


def _in_group(pid: int, name: str) -> bool:
    """Whether process `pid` is in the CPU control group `name`."""
    return any(
        line.split(":", 2)[2].rstrip("/").endswith("/" + name)
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        if "cpu" in line.split(":", 2)[1].split(",") or line.startswith("0::")
    )


def test_without_lanes_the_workers_consume_the_work_queue(tmp_path: Path) -> None:
    with LocalStack(workers=1, log_dir=tmp_path / "logs", lanes=None) as stack:
        env = stack.environment()
        assert stack.routers == [] and "IMGPIPE_BULK_QUEUE_URL" not in env
        assert [_queue_of(pid) for pid in stack.worker_pids()] == [env["IMGPIPE_QUEUE_URL"]]
        _upload(stack, "uploads/alice/plain.jpg")
        assert _wait_complete(stack, ["plain"]) == {"plain": "complete"}


def test_a_gated_bulk_pool_reaches_the_server_through_the_gate_and_completes(tmp_path: Path) -> None:
    # Given a stack whose bulk pool may have one S3 request in the moto server at once
    plan = LanePlan(interactive_workers=1, bulk_s3_at_once=1)
    with LocalStack(workers=1, log_dir=tmp_path / "logs", lanes=plan) as stack:
        assert stack.bulk_gate is not None and stack.bulk_gate.gate == 1
        bulk, interactive = stack.worker_pids()
        _queue_of(bulk)  # each runs as the worker now
        _queue_of(interactive)
        # Then the bulk worker's AWS endpoint is the gate (at the bulk priority), the interactive's the server
        assert _environ(bulk, "AWS_ENDPOINT_URL") == stack.bulk_gate.endpoint
        assert _environ(interactive, "AWS_ENDPOINT_URL") == stack.server.endpoint
        # When a batch call's uploads arrive, then they complete through the gate
        for name in ("g1", "g2", "g3"):
            _upload(stack, f"uploads/bob/{name}.jpg", lane="bulk")
        assert _wait_complete(stack, ["g1", "g2", "g3"]) == dict.fromkeys(["g1", "g2", "g3"], "complete")
        requests = stack.bulk_gate.stats()["requests"]
        assert isinstance(requests, dict) and requests.get("s3", 0) >= 3 * 2, requests  # a GET and PUTs each
    # And stopping the stack stops the gate
    assert stack.bulk_gate is None
