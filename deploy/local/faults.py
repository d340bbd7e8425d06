"""A fault-injecting HTTP proxy in front of the moto server, for chaos runs of the local stack.

Moto never throttles, never fails and never drops a connection, so the worker's retry and commit
paths would go untested at volume. Workers pointed at this proxy (through the standard
`AWS_ENDPOINT_URL`, nothing else changes in them) meet, at the configured rates, the failures AWS
really produces: added latency, 503 SlowDown, 500 InternalError, a connection reset before the
request lands, and a read timeout *after* it lands (the request is applied, the answer never
comes: the ambiguous case a commit protocol must survive). Each request is told apart by the
service in its SigV4 credential scope, so S3, SQS and SNS can be targeted separately; requests
without one (moto's own API) always pass. The plan can be switched while the proxy runs
(`PUT /__faults__/plan`), and `GET /__faults__/stats` says what it injected, by service and kind.

Run as `python -m deploy.local.faults --upstream URL --port N --plan 'slowdown=0.03,reset=0.02'`;
`FaultProxy` starts and stops that process. What the process does with each request (the aiohttp
application) is in `deploy.local.fault_app`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

from deploy.local.motoserver import HOST, MotoServerError, free_port, terminate
from deploy.local.workers import start_in_session

KINDS = ("latency", "slowdown", "error500", "reset", "timeout")
SERVICES = ("s3", "sqs", "sns")
CONTROL = "/__faults__"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


class PlanShape(TypedDict, total=False):
    """A `FaultPlan`'s fields besides its rates, as keyword arguments."""

    services: tuple[str, ...]
    latency_s: float
    stall_s: float


@dataclass(frozen=True)
class FaultPlan:
    """Per-request probabilities of each fault kind (summing to at most 1) and their shapes."""

    rates: dict[str, float] = field(default_factory=dict)
    services: tuple[str, ...] = SERVICES
    latency_s: float = 0.5  # latency faults add uniform(0, latency_s)
    stall_s: float = 2.0  # a timeout holds the answer this long, then drops the connection

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(KINDS) or set(self.services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown fault kind or service {sorted(unknown)}; kinds are {', '.join(KINDS)}")
        if any(r < 0 for r in self.rates.values()) or sum(self.rates.values()) > 1:
            raise ValueError(f"fault rates must be >= 0 and sum to at most 1, not {self.rates}")

    @classmethod
    def parse(cls, text: str, **options: Unpack[PlanShape]) -> FaultPlan:
        """`slowdown=0.03,reset=0.02` (kind=rate pairs; empty for none) as a plan."""
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError(f"fault plan {text!r} is not a list of kind=rate pairs")
        return cls({k.strip(): float(v) for k, v in pairs}, **options)

    @classmethod
    def transient(cls, share: float, **options: Unpack[PlanShape]) -> FaultPlan:
        """`share` of requests faulted, spread over every kind (errors weigh more than latency)."""
        weights = {"latency": 2, "slowdown": 3, "error500": 2, "reset": 2, "timeout": 1}
        total = sum(weights.values())
        return cls({k: share * w / total for k, w in weights.items()}, **options)

    def draw(self, rng: random.Random, service: str | None) -> str | None:
        """The fault for one request of `service`, or None to pass it through untouched."""
        if service not in self.services:
            return None
        roll = rng.random()
        for kind in KINDS:
            roll -= self.rates.get(kind, 0.0)
            if roll < 0:
                return kind
        return None

    def to_json(self) -> dict[str, object]:
        """The plan as `PUT /__faults__/plan` takes it."""
        return asdict(self)


def service_of(authorization: str | None) -> str | None:
    """The AWS service a SigV4-signed request is for (`s3`, `sqs`, `sns`), from its credential scope."""
    match = _SCOPE.search(authorization or "")
    return match.group(1) if match else None


def error_body(service: str, kind: str, json_protocol: bool) -> tuple[int, bytes, str]:
    """Status, body and content type of the error AWS sends for `kind` in `service`'s protocol."""
    status, code = (503, "SlowDown" if service == "s3" else "ServiceUnavailable") if kind == "slowdown" \
        else (500, "InternalError" if service == "s3" else "InternalFailure")  # fmt: skip
    message = f"injected by deploy.local.faults ({kind})"
    if json_protocol:
        return status, json.dumps({"__type": code, "message": message}).encode(), "application/x-amz-json-1.0"
    error = f"<Error><Type>Receiver</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    if service == "s3":
        return status, error.replace("<Type>Receiver</Type>", "").encode(), "application/xml"
    return status, f"<ErrorResponse>{error}</ErrorResponse>".encode(), "text/xml"


class FaultProxy:
    """The proxy as a process of its own, on loopback; `endpoint` goes into AWS_ENDPOINT_URL."""

    def __init__(
        self,
        upstream: str,
        plan: FaultPlan,
        port: int | None = None,
        seed: int = 13,
        log: Path | None = None,
        *,
        gate: int | None = None,
        nice: int = 0,
    ) -> None:
        self.upstream, self.plan, self.seed, self.log = upstream, plan, seed, log
        self.gate, self.nice = gate, nice  # S3 requests upstream at once (None: any); CPU priority
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The proxy's URL."""
        return f"http://{HOST}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> FaultProxy:
        """Launch the process and wait until its control endpoint answers."""
        command = [sys.executable, "-m", "deploy.local.faults", "--upstream", self.upstream,
                   "--port", str(self.port), "--seed", str(self.seed), "--plan-json",
                   json.dumps(self.plan.to_json())]  # fmt: skip
        if self.log is not None:
            command += ["--log", str(self.log)]
        if self.gate is not None:
            command += ["--gate", str(self.gate)]
        self._process = start_in_session(
            command, self.nice, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise MotoServerError(f"fault proxy exited with code {self._process.returncode}")
            try:
                self.stats()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise MotoServerError(f"fault proxy did not answer on {self.endpoint} within {timeout_s:.0f}s")

    def stats(self) -> dict[str, object]:
        """What the proxy saw and injected so far."""
        with urllib.request.urlopen(f"{self.endpoint}{CONTROL}/stats", timeout=5) as answer:
            return dict(json.load(answer))

    def set_plan(self, plan: FaultPlan) -> None:
        """Switch the fault plan from the next request on (e.g. none while a run reconciles)."""
        data = json.dumps(plan.to_json()).encode()
        request = urllib.request.Request(f"{self.endpoint}{CONTROL}/plan", data=data, method="PUT")
        with urllib.request.urlopen(request, timeout=5):
            self.plan = plan

    def stop(self) -> None:
        """Terminate the process (killing it if it lingers)."""
        terminate(self._process)
        self._process = None


def main(argv: list[str] | None = None) -> None:
    """Serve the proxy until terminated."""
    from aiohttp import web

    from deploy.local.fault_app import build_app

    parser = argparse.ArgumentParser(prog="python -m deploy.local.faults", description=__doc__.split(".")[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--plan", default="", help="kind=rate pairs, e.g. slowdown=0.03,reset=0.02")
    parser.add_argument("--plan-json", default=None, help="a whole FaultPlan as JSON")
    parser.add_argument("--log", type=Path, default=None, help="append every request to this file")
    parser.add_argument("--gate", type=int, default=None, help="S3 requests upstream at once, at most")
    args = parser.parse_args(argv)
    plan = FaultPlan(**json.loads(args.plan_json)) if args.plan_json else FaultPlan.parse(args.plan)
    # One proxy per stack: its log starts empty. Line-buffered: it survives a kill.
    log = args.log.open("w", buffering=1) if args.log else None
    app = build_app(args.upstream, plan, args.seed, log, args.gate)
    web.run_app(app, host=HOST, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
