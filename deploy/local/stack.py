"""The embedded local stack: a moto server, the production topology on it, and worker processes
that consume the queue exactly as Lambda's event source mapping would.

Workers are separate `imgpipe worker` processes (one per core by default), so batches run in
parallel on every core as concurrent Lambda invocations do; each is a cold start of
`worker.handler`, and SIGTERM lets each finish its batch before it exits.

With `lanes` (the default, as Terraform deploys it) the work queue feeds the router
(`deploy.local.lanes`, `deploy.local.routing`), which sends each upload to the interactive or the
bulk queue, each consumed by its own pool of worker processes (docs/fairness.md); `workers` is
then the bulk pool's size. With `lanes=None` the workers consume the work queue themselves.

For chaos runs, `faults` puts a fault-injecting proxy (`deploy.local.faults`) between the
workers and the server (clients of the stack still reach the server directly), and
`kill_worker` SIGKILLs a worker mid-batch and starts a fresh one in its place, as Lambda replaces
a crashed instance: its batch comes back after the visibility timeout.

Everything lives in the moto server's memory: stopping the stack discards every upload, result
and queued or quarantined message, and the next start is empty. That is said wherever a stack
is started for people (`imgpipe local up`, the README), not worked around: moto (5.2) has no
state persistence, and its request recorder replays requests instead of restoring state, so a
replay would fire every upload's event again under new message ids and rebuild a DLQ that is no
longer the one the operator saw. `imgpipe demo` downloads what it made to `out/` before it stops.

Clients sign in against a Cognito user pool on the same server (`deploy.local.cognito`) and reach
the client API through the front door (`deploy.local.front_door`), a process of its own on
`api_port` that checks their tokens as API Gateway's JWT authorizer would and calls the API
handler; it reaches the server directly, never through the fault proxy.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local import cpu_cap
from deploy.local.cognito import UserPool, provision_user_pool
from deploy.local.consumer import check_timeout
from deploy.local.cpu_cap import CapUnavailable, CpuCap
from deploy.local.endpoint import EndpointSession
from deploy.local.faults import FaultPlan, FaultProxy
from deploy.local.front_door.cors import cors_from_environment
from deploy.local.front_door.process import API_HANDLER, FrontDoorProcess, reserve
from deploy.local.lanes import (
    ROUTER_LOG,
    LanePlan,
    LaneQueues,
    Slot,
    provision_lanes,
    spawn_router,
    worker_slots,
)
from deploy.local.motoserver import MotoServer
from deploy.local.poller import PollerConfig
from deploy.local.topology import QueueSettings, Topology, provision
from deploy.local.workers import log_reason, spawn
from shared.settings import Settings, load_settings
from worker.api.settings import load_api_settings

PREFIX = "imgpipe"


def check_config(queue: QueueSettings) -> Settings:
    """The settings every worker will read at its cold start, validated before anything starts.

    Raises `TimeoutTooShort` for a function timeout the record budget does not fit, and
    `ConfigError` naming each bad IMGPIPE_* variable (the API function's and the front door's
    included); the stack sets the buckets, queues and timeout itself, so those stand in for the
    environment's.
    """
    check_timeout(queue.function_timeout_s)
    cors_from_environment()
    load_api_settings(input_bucket=f"{PREFIX}-input", output_bucket=f"{PREFIX}-output")
    return load_settings(output_bucket=f"{PREFIX}-output", function_timeout_s=queue.function_timeout_s)


@dataclass
class LocalStack:
    """Start with `start()`, stop with `stop()`; `environment()` is what a client needs."""

    port: int | None = None
    workers: int = max(1, os.cpu_count() or 1)
    queue: QueueSettings = field(default_factory=QueueSettings)
    log_dir: Path | None = None
    faults: FaultPlan | None = None
    api_port: int | None = None  # None: any free port
    api_port_fallback: bool = False  # True: any free port when api_port is taken
    api_handler: str = API_HANDLER
    lanes: LanePlan | None = field(default_factory=LanePlan)  # None: the workers consume the work queue
    server: MotoServer = field(init=False)
    session: EndpointSession = field(init=False)
    topology: Topology = field(init=False)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False)
    fault_proxy: FaultProxy | None = field(default=None, init=False)
    bulk_gate: FaultProxy | None = field(default=None, init=False)  # `LanePlan.bulk_s3_at_once`
    user_pool: UserPool = field(init=False)
    front_door: FrontDoorProcess | None = field(default=None, init=False)
    _api_socket: socket.socket | None = field(default=None, init=False)
    kills: int = field(default=0, init=False)
    lane_queues: LaneQueues | None = field(default=None, init=False)
    routers: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False)
    bulk_cap: CpuCap | None = field(default=None, init=False)  # `LanePlan.bulk_cpu_share`

    def start(self) -> LocalStack:
        """Start the server, provision the topology, start the workers.

        Settings the workers would refuse are refused first (`check_config`), before anything
        is started, and so is a busy API port (taken now, so nothing takes it while the stack starts).
        """
        check_config(self.queue)
        self._api_socket = reserve(self.api_port, self.api_port_fallback)
        try:
            self.server = MotoServer(self.port).start()
            self.session = EndpointSession(self.server)
            self.topology = provision(self.session, prefix=PREFIX, queue=self.queue)
            if self.lanes is not None:
                self.lane_queues = provision_lanes(
                    self.session, PREFIX, self.topology, self.queue, self.lanes
                )
            self.user_pool = provision_user_pool(
                self.session.client("cognito-idp"), self.server.endpoint, PREFIX
            )
            if self.faults is not None:
                log = self.log_dir / "faults.log" if self.log_dir else None
                if log is not None:
                    log.parent.mkdir(parents=True, exist_ok=True)
                self.fault_proxy = FaultProxy(self.server.endpoint, self.faults, log=log).start()
            self._start_bulk_gate()
            self._cap_bulk_pool()
            self._start_front_door()
            self._start_workers()
        except BaseException:
            self.stop()
            raise
        return self

    def environment(self) -> dict[str, str]:
        """Variables that point the CLI, SDKs and the worker at this stack."""
        t = self.topology
        environment = {
            **self.server.environment(),
            "IMGPIPE_INPUT_BUCKET": t.input_bucket,
            "IMGPIPE_OUTPUT_BUCKET": t.output_bucket,
            "IMGPIPE_QUEUE_URL": t.queue_url,
            "IMGPIPE_DLQ_URL": t.dlq_url,
            **(self.lane_queues.environment(self.queue) if self.lane_queues else {}),
        }
        if self.front_door is not None:
            environment["IMGPIPE_API_URL"] = self.front_door.url
            environment["IMGPIPE_USER_POOL_ID"] = self.user_pool.pool_id
            environment["IMGPIPE_USER_POOL_CLIENT_ID"] = self.user_pool.client_id
        return environment

    def poller_config(self) -> PollerConfig:
        """The event source mapping settings the workers use."""
        return PollerConfig(
            queue_url=self.topology.queue_url,
            queue_arn=self.topology.queue_arn,
            region=self.server.region,
            batch_size=self.queue.batch_size,
            batching_window_s=self.queue.batching_window_s,
            function_timeout_s=self.queue.function_timeout_s,
        )

    def _start_front_door(self) -> None:
        log = self.log_dir / "api.log" if self.log_dir else None
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
        assert self._api_socket is not None  # reserved by start()
        self.front_door = FrontDoorProcess(
            self._api_socket, self.user_pool, handler=self.api_handler, log=log
        )
        self._api_socket = None  # the door's now
        # the function's configuration: the stack's buckets and endpoint, the user's limits and CORS
        self.front_door.start({**os.environ, **self.environment()})

    def _start_bulk_gate(self) -> None:
        """The bulk pool's way to AWS: at most `bulk_s3_at_once` S3 requests in the server at once,
        and no more CPU than the bulk workers' own priority (through the fault proxy, if any)."""
        if self.lanes is None or self.lanes.bulk_s3_at_once is None:
            return
        upstream = self.fault_proxy.endpoint if self.fault_proxy is not None else self.server.endpoint
        self.bulk_gate = FaultProxy(
            upstream, FaultPlan(), gate=self.lanes.bulk_s3_at_once, nice=self.lanes.bulk_nice
        ).start()

    def _cap_bulk_pool(self) -> None:
        """The bulk pool's CPU group (`LanePlan.bulk_cpu_share`); where the machine has none to
        give, the pool runs with its nice alone, and says so."""
        if self.lanes is None or (cores := self.lanes.bulk_cores()) is None:
            return
        try:
            self.bulk_cap = cpu_cap.create(cores, self.lanes.bulk_nice)
        except CapUnavailable as exc:
            print(f"imgpipe: the bulk pool runs without its CPU ceiling: {exc}", file=sys.stderr)

    def _start_workers(self) -> None:
        if self.lanes is not None:
            self.routers = [self._spawn_router(index) for index in range(self.lanes.routers)]
        for index in range(len(self.slots())):
            self._processes.append(self._spawn(index))

    def slots(self) -> list[Slot]:
        """Which queue each worker process consumes: one pool per lane (the bulk pool has `workers`
        processes), or, without lanes, `workers` processes on the work queue."""
        return worker_slots(self.lanes, self.lane_queues, self.poller_config(), self.workers)

    def _process_env(self, gated: bool = False) -> dict[str, str]:
        env = {**os.environ, **self.environment(), "LAMBDA_TASK_ROOT": str(Path.cwd())}
        if self.fault_proxy is not None:
            env["AWS_ENDPOINT_URL"] = self.fault_proxy.endpoint
        if gated and self.bulk_gate is not None:
            env["AWS_ENDPOINT_URL"] = self.bulk_gate.endpoint
        return env

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        slot = self.slots()[index]
        log = self.log_dir / f"worker-{index}.log" if self.log_dir else None
        env = self._process_env(slot.gated)
        if slot.concurrency is not None:
            env["IMGPIPE_CONCURRENCY"] = str(slot.concurrency)
        process = spawn(env, slot.config, log, slot.nice)
        if slot.capped and self.bulk_cap is not None:
            try:
                self.bulk_cap.add(process.pid)
            except OSError as exc:  # the worker runs (and is stopped) all the same, without the ceiling
                print(
                    f"imgpipe: worker {index} runs without the bulk pool's CPU ceiling: {exc}",
                    file=sys.stderr,
                )
        return process

    def _spawn_router(self, index: int) -> subprocess.Popen[bytes]:
        assert self.lanes is not None
        log = self.log_dir / f"{ROUTER_LOG}-{index}.log" if self.log_dir else None
        return spawn_router(self._process_env(), self.lanes, self.queue, self.topology.queue_url, log)

    def kill_router(self, index: int = 0) -> int:
        """SIGKILL router `index` mid-batch and start a fresh one, as `kill_worker` does a worker."""
        process = self.routers[index]  # IndexError: a stack without lanes has no router
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.kills += 1
        self.routers[index] = self._spawn_router(index)
        return process.pid

    def worker_pids(self) -> list[int]:
        """The process ids of the workers running now, by index."""
        return [process.pid for process in self._processes]

    def kill_worker(self, index: int) -> int:
        """SIGKILL worker `index` (mid-batch, nothing finishes) and start a fresh one in its place,
        as Lambda replaces a crashed instance; returns the killed process's id."""
        process = self._processes[index]
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.kills += 1
        self._processes[index] = self._spawn(index)
        return process.pid

    def alive(self) -> bool:
        """True while the server, the front door and every worker process run."""
        door = self.front_door is None or self.front_door.running()
        processes = [*self._processes, *self.routers]
        return self.server.running() and door and all(p.poll() is None for p in processes)

    def failure(self) -> str:
        """Why the stack is not alive, in one line: which process exited and, for a worker, the
        last meaningful line of its log."""
        if not self.server.running():
            return f"the moto server on {self.server.endpoint} exited"
        for index, process in enumerate(self._processes):
            code = process.poll()
            if code is not None and code < 0:
                return f"worker {index} was killed by signal {-code}{self._log_reason(f'worker-{index}')}"
            if code is not None:
                return f"worker {index} exited with code {code}{self._log_reason(f'worker-{index}')}"
        for index, router in enumerate(self.routers):
            if (code := router.poll()) is not None:
                return f"router {index} exited with code {code}{self._log_reason(f'{ROUTER_LOG}-{index}')}"
        if self.front_door is not None and not self.front_door.running():
            return f"the API front door on {self.front_door.url} exited{self._log_reason('api')}"
        return "every process is running"

    def _log_reason(self, name: str) -> str:
        return log_reason(self.log_dir, name)

    def stop(self) -> None:
        """Close the front door, let workers finish their batch and exit, then stop the server;
        nothing is left running."""
        if self.front_door is not None:
            self.front_door.stop()
        if self._api_socket is not None:
            self._api_socket.close()
            self._api_socket = None
        running = [*self._processes, *self.routers]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=self.queue.function_timeout_s + 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        self.routers = []
        for proxy in (self.bulk_gate, self.fault_proxy):
            if proxy is not None:
                proxy.stop()
        self.bulk_gate = self.fault_proxy = None
        if self.bulk_cap is not None:
            self.bulk_cap.remove()
            self.bulk_cap = None
        if hasattr(self, "server"):
            self.server.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
