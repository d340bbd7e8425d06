"""The chaos run's command line, checked before anything starts: a bad value is a usage error."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

from loadtest.load.options import Parser, checked

DESCRIPTION = "`make chaos`: the load test's uploads through a local stack that misbehaves, then the ledger."


def parse(argv: list[str] | None) -> Namespace:
    """The command line."""
    parser = Parser(prog="python -m loadtest.chaos", description=DESCRIPTION)
    parser.add_argument("--uploads", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faults", type=float, default=0.10, help="share of worker requests faulted")
    parser.add_argument("--poison", type=float, default=0.03, help="share of uploads that are poison")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of uploads sent twice")
    parser.add_argument("--interleave", type=float, default=0.01, help="share re-uploaded or imageId-shared")
    parser.add_argument("--kill-every", type=float, default=15.0, help="seconds between kills (0: none)")
    parser.add_argument("--timeout", type=int, default=10, help="function timeout (visibility: 6x + 1)")
    parser.add_argument("--budget-ms", type=int, default=4000, help="IMGPIPE_RECORD_BUDGET_MS")
    parser.add_argument("--drain-timeout", type=float, default=900.0, help="tracker: after the last PUT")
    parser.add_argument("--max-seconds", type=int, default=2400, help="locust's --run-time bound")
    parser.add_argument("--out", type=Path, default=Path("out/chaos"))
    args = parser.parse_args(argv)
    return checked(parser, args, _problems(args))


def _problems(args: Namespace) -> list[str]:
    counts = {"--uploads": args.uploads, "--users": args.users, "--workers": args.workers,
              "--timeout": args.timeout, "--budget-ms": args.budget_ms,
              "--drain-timeout": args.drain_timeout, "--max-seconds": args.max_seconds}  # fmt: skip
    shares = {"--faults": args.faults, "--poison": args.poison, "--duplicates": args.duplicates,
              "--interleave": args.interleave}  # fmt: skip
    problems = [f"{name} must be above 0 (got {value:g})" for name, value in counts.items() if value <= 0]
    problems += [f"{name} is a share, from 0 to 1 (got {value:g})" for name, value in shares.items()
                 if not 0 <= value <= 1]  # fmt: skip
    if args.kill_every < 0:
        problems.append(f"--kill-every must be 0 (no kills) or more seconds (got {args.kill_every:g})")
    return problems
