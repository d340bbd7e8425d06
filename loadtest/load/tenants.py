"""`--scenario tenants` (issue 23): does one tenant's bulk upload stall everyone else's photos?

Phases on one stack, each a headless locust run (the same locustfile, the same signed-in clients
going through the client API):

1. idle: K small tenants (`loadtest-0` ..), each uploading one photo every `--tenant-every`
   seconds through `POST /v1/uploads`, as apps do, for `--idle-seconds`: their wait with no burst;
2. alone: one tenant (`loadtest-burst`, `--users` connections) sends `--images` photos through
   `POST /v1/uploads/batch`: the burst's drain on its own;
3. together: the same burst again while the small tenants upload as in 1, for as long as the
   burst took alone and a quarter more: their wait while it drains, and its drain beside them;
4. alone again, then 5. idle again: the other side of the bracket. The figures compare phase 3
   with 1 and 5 together (the idle waits) and with the mean of 2 and 4 (the drain), so a machine
   that gets busier or quieter during the run (it is shared) does not count for or against the
   lanes (the ABBA the benchmarks use).

Then every upload of every phase is reconciled against the buckets and the DLQ (lost = 0),
and the run ends with the line `tenant_figures.TenantFigures.line` prints. Exits 1 when an
upload was lost, or the ledger found another problem (a poison file not quarantined, a photo not
complete); the targets are for a person to read: they depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import boto3

from loadtest.load import options, payloads, router_figures, tracker
from loadtest.load.ledger import Ledger, reconcile
from loadtest.load.runner import locust_command
from loadtest.load.tenant_figures import TenantFigures, burst_window

BURST_TENANT = "loadtest-burst"
RECONCILED = "reconciled.jsonl"  # beside each phase's ledger, once the buckets have settled the late ones
TOGETHER_MARGIN = 1.25  # the small tenants upload through the burst's whole drain, and after


@dataclass(frozen=True)
class Phase:
    """One locust run of a phase: who uploads what, how fast, through which call."""

    name: str
    payloads: Path
    users: int
    images: int
    rate: float = 0.0  # uploads/s in all (0: as fast as the users can)
    batch: int = 0  # files per batch call (0: a POST /v1/uploads each)
    tenant: str | None = None  # every user signs in as this one tenant
    spawn_rate: float | None = None  # users started per second (None: all at once)

    def command(self, args: argparse.Namespace, out: Path) -> list[str]:
        """locust's headless command line for this phase, its reports in `out/<name>/`."""
        folder = out / self.name
        command = locust_command(
            folder, self.payloads, folder / "uploads.jsonl", users=self.users, images=self.images,
            max_seconds=args.max_seconds, drain_timeout=args.drain_timeout, rate=self.rate,
            batch=self.batch, target=args.target,
        )  # fmt: skip
        if self.spawn_rate is not None:
            command[command.index("-r") + 1] = f"{self.spawn_rate:g}"
        return [*command, *(["--tenant", self.tenant] if self.tenant else [])]


def small_phase(args: argparse.Namespace, folder: Path, name: str, seconds: float) -> Phase:
    """The K small tenants uploading one photo each every `--tenant-every` s for `seconds`; their
    first uploads spread over one interval (users started K/interval a second)."""
    rate = args.tenants / args.tenant_every
    images = args.tenants * max(1, math.ceil(seconds / args.tenant_every))
    return Phase(name, folder, args.tenants, images, rate=rate, spawn_rate=rate)


def burst_phase(args: argparse.Namespace, folder: Path, name: str) -> Phase:
    """One tenant sending `--images` photos through the batch call on `--users` connections."""
    return Phase(name, folder, args.users, args.images, batch=args.batch, tenant=BURST_TENANT)


def run_phases(
    args: argparse.Namespace, env: dict[str, str], phases: list[Phase]
) -> list[list[tracker.Upload]]:
    """Run `phases` at the same time; each one's uploads, from its ledger."""
    out = args.out / "phases"
    running = []
    for phase in phases:
        (out / phase.name).mkdir(parents=True, exist_ok=True)
        for stale in tracker.ledger_files(out / phase.name / "uploads.jsonl"):
            stale.unlink()
        log = (out / phase.name / "locust.log").open("wb")
        running.append((subprocess.Popen(phase.command(args, out), env=env, stdout=log, stderr=log), log))
    for process, log in running:
        process.wait()
        log.close()
    found = [tracker.read_all(out / phase.name / "uploads.jsonl") for phase in phases]
    for phase, uploads in zip(phases, found, strict=True):
        if not uploads:
            raise SystemExit(
                f"tenants: the {phase.name} phase sent nothing; see {out / phase.name / 'locust.log'}"
            )
    return found


def drive(args: argparse.Namespace, env: dict[str, str]) -> tuple[TenantFigures, Ledger]:
    """The five phases against the stack `env` names, then the reconciliation."""
    burst_files = payloads.generate(args.out / "payloads", args.profile)
    small_files = payloads.generate(args.out / "tenant-payloads", args.tenant_profile, 0.0)
    every, idle_s = args.tenant_every, args.idle_seconds
    idle_phase = small_phase(args, small_files, "idle", idle_s)
    say(f"idle: {args.tenants} small tenants, a photo each every {every:g}s, for {idle_s:g}s")
    (idle,) = run_phases(args, env, [idle_phase])
    say(f"alone: one tenant sends {args.images} photos ({args.profile}) through the batch call")
    (alone,) = run_phases(args, env, [burst_phase(args, burst_files, "alone")])
    seconds = burst_window(alone).seconds * TOGETHER_MARGIN
    say(f"together: the burst again, the small tenants uploading for {seconds:.0f}s beside it")
    burst, small = run_phases(
        args, env, [burst_phase(args, burst_files, "burst"), small_phase(args, small_files, "small", seconds)]
    )
    say("alone again, then idle again: the other side of the bracket")
    (alone_again,) = run_phases(args, env, [burst_phase(args, burst_files, "alone-again")])
    (idle_again,) = run_phases(args, env, [replace(idle_phase, name="idle-again")])
    phases = {"idle": idle, "alone": alone, "burst": burst, "small": small}
    phases |= {"alone-again": alone_again, "idle-again": idle_again}
    ledger = _reconcile(args, env, phases)
    figures = TenantFigures([*idle, *idle_again], alone, burst, small, len(ledger.lost), alone_again)
    return figures, ledger


def _reconcile(
    args: argparse.Namespace, env: dict[str, str], phases: dict[str, list[tracker.Upload]]
) -> Ledger:
    """Every phase's uploads against the buckets and the DLQ; what the figures are made of (each
    phase's uploads, the late ones as the buckets settled them) is written beside its ledger."""
    say("reconciling every upload of every phase against the buckets and the DLQ")
    session = boto3.Session(region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"))
    everything = [upload for uploads in phases.values() for upload in uploads]
    ledger = reconcile(
        session.client("s3"), session.client("sqs"), env["IMGPIPE_OUTPUT_BUCKET"], env["IMGPIPE_DLQ_URL"],
        everything,
    )  # fmt: skip
    for name, uploads in phases.items():
        lines = "".join(json.dumps(asdict(upload)) + "\n" for upload in uploads)
        (args.out / "phases" / name / RECONCILED).write_text(lines)
    return ledger


def run(args: argparse.Namespace) -> int:
    """The whole scenario on the local stack (lanes per `--lanes`) or the deployment; the exit code."""
    since = router_figures.mark(args.out / "logs")  # the logs are appended to: this run's start
    ceiling: list[str] = []  # the local stack's bulk pool's CPU ceiling, as it ran
    if args.target == "aws":
        from loadtest.load import signin

        os.environ.update(signin.aws_users(os.environ, args.tenants, 1, say))
        cognito = signin.cognito_client(os.environ)
        pool, password = os.environ[signin.POOL], os.environ[signin.PASSWORD]
        signin.ensure_users(cognito, pool, [BURST_TENANT], password)
        figures, ledger = drive(args, dict(os.environ))
    else:
        from deploy.local.stack import LocalStack

        lanes = options.lane_plan(args)
        say(f"starting the local stack: {args.workers} workers, {options.lanes_words(args)}")
        with LocalStack(workers=args.workers, log_dir=args.out / "logs", lanes=lanes) as stack:
            os.environ.update(stack.environment())
            figures, ledger = drive(args, dict(os.environ))
            ceiling = options.ceiling_lines(stack)
    router = router_figures.lines(args.out / "logs", since)  # none without lanes
    print(ledger.line())
    for line in [*figures.details(), *ledger.problem_lines(), *router, *ceiling]:
        print(line)
    print(figures.line())
    return 0 if ledger.ok else 1


def say(message: str) -> None:
    """A progress line, on stderr so the figures on stdout stay parseable."""
    print(f"loadtest: {message}", file=sys.stderr, flush=True)
