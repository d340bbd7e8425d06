"""The load test's command line, checked before anything starts: a bad value is a usage error.

Shared by `python -m loadtest.run` and `imgpipe loadtest` (which hands its arguments over).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from loadtest.load import payloads
from loadtest.load.redrive import EVERY_S
from worker.api.models import MAX_BATCH

if TYPE_CHECKING:
    from deploy.local.lanes import LanePlan

# The poison share of each scenario's mix (None: the profile's own).
SCENARIOS = {"burst": None, "steady": None, "poison": 0.5, "redrive": 0.2, "tenants": None}
# A worker is one Lambda concurrency slot. While a slot waits for S3 or for the last image of
# its batch its core idles, so one slot more than the cores keeps them busy (600-image burst:
# 2 workers drained 12.3 images/s, 3 workers 15.0, 4 workers 14.5).
DEFAULT_WORKERS = (os.cpu_count() or 1) + 1
# --target aws: the clients need the API and its user pool (`terraform output api`); the runner
# needs the buckets and queues to reconcile (`terraform output imgpipe`).
AWS_CLIENT_NEEDS = ("IMGPIPE_API_URL", "IMGPIPE_USER_POOL_ID", "IMGPIPE_USER_POOL_CLIENT_ID")
AWS_LEDGER_NEEDS = ("IMGPIPE_INPUT_BUCKET", "IMGPIPE_OUTPUT_BUCKET", "IMGPIPE_QUEUE_URL", "IMGPIPE_DLQ_URL")
AWS_NEEDS = AWS_CLIENT_NEEDS + AWS_LEDGER_NEEDS
# Profiles whose clients are bulk uploaders (a phone syncing its camera roll): they ask for
# forms through POST /v1/uploads/batch, this many files a call, unless --batch says otherwise.
BULK_BATCH = {"photos": 25}
SCENARIO_HELP = (
    "burst: every upload at once, then the drain; steady: --rate uploads/s; poison: half the"
    " uploads poison; redrive: a fifth poison and the DLQ redriven while uploads go on; tenants: one"
    " tenant's burst of --images through the batch call beside --tenants small tenants (docs/fairness.md)"
)
# Without --images or --profile; `--scenario tenants` is the run (1,000 phone photos).
DEFAULTS = {"images": 100, "profile": "small"}
TENANTS_DEFAULTS = {"images": 1000, "profile": "photos"}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line naming the problem, exit 2 (the usage is in --help)."""
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    prog = os.environ.get("IMGPIPE_LOADTEST_PROG", "python -m loadtest.run")  # or `imgpipe loadtest`
    parser = Parser(
        prog=prog,
        description="Locust uploads through the whole pipeline, then the ledger: every upload must end"
        " complete or quarantined. Exits 1 when one was lost, 2 on a usage error.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--scenario", choices=sorted(SCENARIOS), default="burst", help=SCENARIO_HELP)
    add("--images", type=int, default=None, metavar="N",
        help="uploads in all (tenants: the burst's); default 100, tenants 1000")  # fmt: skip
    add("--users", type=int, default=10, metavar="U", help="concurrent locust clients")
    add("--rate", type=float, default=0.0, metavar="R", help="uploads/s in all (steady only)")
    add("--profile", choices=sorted(payloads.PROFILES), default=None,
        help="the mix of generated photos (see docs/loadtest.md); default small, tenants photos")  # fmt: skip
    add("--target", choices=["local", "aws"], default="local",
        help="local: start the moto server and workers; aws: the stack the environment names")  # fmt: skip
    add("--workers", type=int, default=DEFAULT_WORKERS, metavar="W", help="local stack worker processes")
    add("--processes", type=int, default=1, metavar="P", help="locust worker processes (distributed mode)")
    add("--batch", type=int, default=None, metavar="N",
        help="files per POST /v1/uploads/batch, 0 for a POST /v1/uploads per file; unset: "
        + ", ".join(f"{n} for --profile {p}" for p, n in BULK_BATCH.items()) + ", else 0")  # fmt: skip
    add("--drain-timeout", type=float, default=120.0, metavar="S",
        help="after the last file is sent, how long clients follow uploads still open")  # fmt: skip
    add("--max-seconds", type=int, default=900, metavar="S", help="bound on the whole locust run")
    add("--redrive-every", type=float, default=EVERY_S, metavar="S", help="redrive: seconds between redrives")
    add("--out", type=Path, default=Path("out/loadtest"), help="reports, ledgers and logs")
    add("--no-engine", action="store_true", help="skip the engine-only figure (drain_vs_engine=0.00)")
    add("--lanes", choices=["on", "off"], default="on",
        help="local stack: the router and the interactive and bulk lanes, or one queue")  # fmt: skip
    add("--bulk-s3-at-once", type=int, default=0, metavar="N",
        help="local stack, lanes on: at most N of the bulk pool's S3 requests in the moto server at"
        " once, through a gate (0, the default: no gate; slows the import, docs/fairness.md)")  # fmt: skip
    add("--bulk-cpu-share", type=float, default=None, metavar="S",
        help="local stack, lanes on: the bulk pool's CPU ceiling, a share of the cores (0: none,"
        " only its low priority; unset: the stack's, 0.5; docs/fairness.md)")  # fmt: skip
    tenants = parser.add_argument_group("--scenario tenants")
    tenants.add_argument("--tenants", type=int, default=10, metavar="K",
                         help="small tenants beside the burst")  # fmt: skip
    tenants.add_argument("--tenant-every", type=float, default=5.0, metavar="S",
                         help="each small tenant uploads one photo every S seconds")  # fmt: skip
    tenants.add_argument("--tenant-profile", choices=sorted(payloads.PROFILES), default="small",
                         help="the small tenants' photos (no poison)")  # fmt: skip
    tenants.add_argument("--idle-seconds", type=float, default=40.0, metavar="S",
                         help="how long the small tenants upload with no burst")  # fmt: skip
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line, validated; exits 2 with a one-line reason on a bad value."""
    parser = _parser()
    args = parser.parse_args(argv)
    for name, value in (TENANTS_DEFAULTS if args.scenario == "tenants" else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.batch is None:
        args.batch = BULK_BATCH.get(args.profile, 0)
    return checked(parser, args, _problems(args))


def checked(
    parser: argparse.ArgumentParser, args: argparse.Namespace, problems: list[str]
) -> argparse.Namespace:
    """`args`, once `problems` is empty and `--out` exists; else a usage error (exit 2)."""
    for problem in problems:
        parser.error(problem)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"--out {args.out}: cannot create it ({exc.strerror or exc})")
    return args


def _problems(args: argparse.Namespace) -> list[str]:
    positive = {"--images": args.images, "--users": args.users, "--workers": args.workers,
                "--processes": args.processes, "--drain-timeout": args.drain_timeout,
                "--max-seconds": args.max_seconds, "--redrive-every": args.redrive_every,
                "--tenants": args.tenants, "--tenant-every": args.tenant_every,
                "--idle-seconds": args.idle_seconds}  # fmt: skip
    problems = [f"{name} must be above 0 (got {value:g})" for name, value in positive.items() if value <= 0]
    problems += _lane_problems(args)
    if args.scenario == "steady" and args.rate <= 0:
        problems.append("--scenario steady needs --rate R (uploads/s)")
    if args.scenario != "steady" and args.rate:
        problems.append(f"--rate is for --scenario steady; {args.scenario} uploads as fast as it can")
    if args.scenario == "tenants" and args.batch == 0:
        problems.append("--scenario tenants sends its burst through the batch call: --batch 1 to 100")
    if not 0 <= args.batch <= MAX_BATCH:
        problems.append(f"--batch is 0 (one POST /v1/uploads a file) to {MAX_BATCH} (got {args.batch})")
    if args.target == "aws" and (missing := [name for name in AWS_NEEDS if not os.environ.get(name)]):
        problems.append(
            f"--target aws needs {', '.join(missing)} set: the API and its user pool for the clients"
            " (terraform output api: url, user_pool_id, user_pool_client_id), the buckets and queues"
            " for the ledger (terraform output imgpipe)"
        )
    return problems


def _lane_problems(args: argparse.Namespace) -> list[str]:
    """What is wrong with the local stack's lane options (`--bulk-s3-at-once`, `--bulk-cpu-share`)."""
    problems: list[str] = []
    if args.bulk_s3_at_once < 0:
        problems.append(f"--bulk-s3-at-once is 0 (no limit) or more (got {args.bulk_s3_at_once})")
    if args.bulk_s3_at_once and args.target == "aws":
        problems.append("--bulk-s3-at-once is for the local stack (--target local): AWS meters no one's S3")
    if args.bulk_s3_at_once and args.lanes == "off":
        problems.append("--bulk-s3-at-once limits the bulk lane's S3 requests: it needs --lanes on")
    share = args.bulk_cpu_share
    if share is not None and not 0 <= share <= 1:
        problems.append(f"--bulk-cpu-share is 0 (no ceiling) to 1 (got {share:g})")
    if share and args.target == "aws":
        problems.append(
            "--bulk-cpu-share is for the local stack (--target local): AWS gives each lane its own CPU"
        )
    if share and args.lanes == "off":
        problems.append("--bulk-cpu-share caps the bulk lane's workers: it needs --lanes on")
    return problems


def lane_plan(args: argparse.Namespace) -> LanePlan | None:
    """The local stack's lanes per `--lanes`, `--bulk-s3-at-once` and `--bulk-cpu-share` (None: one
    work queue)."""
    from deploy.local.cpu_cap import BULK_CPU_SHARE
    from deploy.local.lanes import LanePlan

    if args.lanes == "off":
        return None
    share = BULK_CPU_SHARE if args.bulk_cpu_share is None else args.bulk_cpu_share or None
    return LanePlan(bulk_s3_at_once=args.bulk_s3_at_once or None, bulk_cpu_share=share)


def lanes_words(args: argparse.Namespace) -> str:
    """How the local stack runs its lanes, for the progress line."""
    from deploy.local.cpu_cap import usable_cores

    plan = lane_plan(args)
    if plan is None:
        return f"lanes {args.lanes}"
    words = [f"lanes {args.lanes}"]
    if (cores := plan.bulk_cores()) is not None:
        words.append(f"the bulk pool's CPU at most {cores:g} of {usable_cores():g} cores")
    if plan.bulk_s3_at_once:
        words.append(f"a gate: the bulk pool's S3 requests {plan.bulk_s3_at_once} at most at once")
    return ", ".join(words)


def ceiling_lines(stack: Any) -> list[str]:
    """`bulk_ceiling:` what the local stack's bulk pool ran under: its CPU quota and how often the
    kernel held it there, or none (so a run where the machine gave no cgroup is told apart); no
    line for a stack without lanes."""
    if getattr(stack, "lanes", None) is None:
        return []
    cap = getattr(stack, "bulk_cap", None)
    if cap is None:
        return ["bulk_ceiling: none (the bulk pool took every core the rest left, at its low priority)"]
    return [f"bulk_ceiling: cores={cap.cores:g} throttled_periods={cap.throttled()}"]
