"""`python -m loadtest.run`: a locust run through the whole pipeline, then the ledger and the figures.

Starts the local stack (moto server + a worker per core and one more) unless `--target aws`, generates the
payloads once, runs locust headless as its own process (its CSV and HTML reports go to the out
folder), samples queue/in-flight/DLQ depth meanwhile, reconciles every upload against the
buckets and the DLQ, then times the engine alone on the same payloads and cores for the ratio.
The `redrive` scenario also redrives the DLQ back to work every few seconds while uploads go on.
Exits 1 when an upload was lost, or a poison file did not end quarantined exactly once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from deploy.ops.dlq_report import queue_depth
from loadtest import payloads, tracker
from loadtest.ledger import Ledger, reconcile
from loadtest.redrive import EVERY_S, Redriver
from loadtest.report import Sampler, drain, drain_after_uploads, plot, summary

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The poison share of each scenario's mix (None: the profile's own).
SCENARIOS = {"burst": None, "steady": None, "poison": 0.5, "redrive": 0.2}
ENGINE_MIN_IMAGES = 28
ENGINE_ROUNDS = 3
# A worker is one Lambda concurrency slot. While a slot waits for S3 or for the last image of
# its batch its core idles, so one slot more than the cores keeps them busy (600-image burst:
# 2 workers drained 12.3 images/s, 3 workers 15.0, 4 workers 14.5).
DEFAULT_WORKERS = (os.cpu_count() or 1) + 1


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    prog = os.environ.get("IMGPIPE_LOADTEST_PROG", "python -m loadtest.run")  # or `imgpipe loadtest`
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="burst")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.0, help="uploads/s for steady (0: burst)")
    parser.add_argument("--profile", choices=sorted(payloads.PROFILES), default="small")
    parser.add_argument("--target", choices=["local", "aws"], default="local")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="local stack worker processes")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--max-seconds", type=int, default=900, help="locust's --run-time bound")
    parser.add_argument(
        "--processes", type=int, default=1, metavar="P", help="locust worker processes (its distributed mode)"
    )
    parser.add_argument("--out", type=Path, default=Path("out/loadtest"))
    parser.add_argument("--no-engine", action="store_true", help="skip the engine-only figure")
    parser.add_argument(
        "--redrive-every", type=float, default=EVERY_S, metavar="S", help="seconds between DLQ redrives"
    )
    args = parser.parse_args(argv)
    if args.scenario == "steady" and args.rate <= 0:
        parser.error("--scenario steady needs --rate R (uploads/s)")
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.redrive_every <= 0:
        parser.error("--redrive-every must be above 0 seconds")
    return args


def locust_command(args: argparse.Namespace, payload_dir: Path, ledger_path: Path) -> list[str]:
    """locust's own headless runner, bounded by count (the locustfile stops itself) and by time."""
    rate = args.rate if args.scenario == "steady" else 0.0
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", str(args.users), "-r", str(args.users), "--run-time", f"{args.max_seconds}s",
        "--stop-timeout", "10", "--exit-code-on-error", "0",
        "--csv", str(args.out / "locust"), "--html", str(args.out / "locust.html"),
        "--payloads", str(payload_dir), "--images", str(args.images), "--rate", str(rate),
        "--drain-timeout", str(args.drain_timeout), "--ledger", str(ledger_path),
        *(["--processes", str(args.processes), "--uploaders", str(args.processes)]
          if args.processes > 1 else []),
    ]  # fmt: skip


def engine_per_s(pool: payloads.Pool, images: int) -> float:
    """Engine-only full-set images/s, one image per core, on the good payloads the run sent: the
    best of `ENGINE_ROUNDS`, so a noisy moment flatters no drain ratio."""
    from loadtest.bench_handler import engine_parallel
    from shared.variants import DEFAULT_VARIANTS

    count = max(ENGINE_MIN_IMAGES, min(images, 200))
    inputs = [data for name, data in pool.first(count * 2) if not payloads.is_poison(name)][:count]
    walls = [engine_parallel(inputs, DEFAULT_VARIANTS)[0] for _ in range(ENGINE_ROUNDS)]
    return len(inputs) / min(walls)


def drive(args: argparse.Namespace, env: dict[str, str]) -> tuple[Ledger, list[tracker.Upload], list[Any]]:
    """Generate payloads, run locust with sampling, reconcile; the stack is `env`'s."""
    payload_dir = payloads.generate(args.out / "payloads", args.profile, SCENARIOS[args.scenario])
    ledger_path = args.out / "uploads.jsonl"
    for stale in tracker.ledger_files(ledger_path):
        stale.unlink()
    session = boto3.Session(region_name=env.get("AWS_REGION"))
    s3, sqs = session.client("s3"), session.client("sqs")
    queue_url, dlq_url = env["IMGPIPE_QUEUE_URL"], env["IMGPIPE_DLQ_URL"]
    sampler = Sampler(sqs, queue_url, dlq_url, args.out / "queues.csv")
    redriver = Redriver(sqs, dlq_url, queue_url, args.redrive_every) if args.scenario == "redrive" else None
    sampler.start()
    if redriver is not None:
        redriver.start()
    with (args.out / "locust.log").open("wb") as log:
        code = subprocess.call(
            locust_command(args, payload_dir, ledger_path), env=env, stdout=log, stderr=log
        )
    if redriver is not None:
        redriver.finish()
        # Redriven copies may still be on the work queue: let them come back to the DLQ.
        settle(sqs, queue_url, args.drain_timeout)
    samples = sampler.finish()
    if not tracker.ledger_files(ledger_path):
        raise SystemExit(
            f"loadtest: locust exited with {code} and wrote no ledger; see {args.out / 'locust.log'}"
        )
    uploads = tracker.read_all(ledger_path)
    ledger = reconcile(s3, sqs, env["IMGPIPE_OUTPUT_BUCKET"], dlq_url, uploads, "loadtest")
    if redriver is not None:
        ledger.redriven = redriver.moved
        print(f"redrive: {redriver.rounds} rounds moved {redriver.moved} messages back to work"
              f" ({redriver.held_back} held back at the redrive limit)")  # fmt: skip
        for error in redriver.errors[:10]:
            print(f"redrive error: {error}")
    return ledger, uploads, samples


def settle(sqs: Any, queue_url: str, timeout_s: float) -> bool:
    """Wait until the work queue holds nothing visible, in flight or delayed; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        depth = queue_depth(sqs, queue_url)
        if depth.visible + depth.in_flight + depth.delayed == 0:
            return True
        time.sleep(1.0)
    return False


def run(args: argparse.Namespace) -> int:
    """The whole run; the exit code."""
    args.out.mkdir(parents=True, exist_ok=True)
    if args.target == "aws":
        missing = [v for v in ("IMGPIPE_INPUT_BUCKET", "IMGPIPE_OUTPUT_BUCKET", "IMGPIPE_QUEUE_URL",
                               "IMGPIPE_DLQ_URL") if not os.environ.get(v)]  # fmt: skip
        if missing:
            raise SystemExit(f"loadtest: --target aws needs {', '.join(missing)} set")
        ledger, uploads, samples = drive(args, dict(os.environ))
    else:
        from deploy.local.stack import LocalStack

        with LocalStack(workers=args.workers, log_dir=args.out / "logs") as stack:
            env = {**os.environ, **stack.environment()}
            os.environ.update(stack.environment())
            ledger, uploads, samples = drive(args, env)
    rate, settling = drain(uploads), drain_after_uploads(uploads)
    engine = 0.0 if args.no_engine else engine_per_s(payloads.load(args.out / "payloads"), args.images)
    picture = plot(samples, uploads, args.out / "loadtest.png")
    print(f"ledger: uploaded={ledger.uploaded} complete={ledger.complete} quarantined={ledger.quarantined}"
          f" lost={len(ledger.lost)} duplicate_image_work={ledger.duplicate_work}"
          + (f" redriven={ledger.redriven}" if args.scenario == "redrive" else ""))  # fmt: skip
    print(
        f"drain: {rate.images} images in {rate.seconds:.1f}s; after the last PUT {settling.images} in"
        f" {settling.seconds:.1f}s ({settling.per_s:.2f}/s); engine alone: {engine:.2f} images/s"
    )
    print(
        f"reports: {args.out / 'locust.html'}, {args.out}/locust_stats.csv"
        + (f", {picture}" if picture else "")
    )
    for image_id in ledger.lost[:10]:
        print(f"lost: {image_id}")
    for image_id in ledger.poison_not_quarantined[:10]:
        print(f"poison not quarantined: {image_id}")
    for entry in ledger.dlq_mismatch[:10]:
        print(f"not in the DLQ exactly once: {entry}")
    print(summary(ledger, uploads, rate, engine))
    return 0 if ledger.ok else 1


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    started = time.monotonic()
    code = run(parse(argv))
    print(f"loadtest: finished in {time.monotonic() - started:.0f}s", file=sys.stderr)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
