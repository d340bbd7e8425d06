"""`python -m loadtest.run`: a locust run through the whole pipeline, then the ledger and the figures.

Starts the local stack (moto server + a worker per core and one more) unless `--target aws`, generates the
payloads once, runs locust headless as its own process (its CSV and HTML reports go to the out
folder), samples queue/in-flight/DLQ depth meanwhile, reconciles every upload against the
buckets and the DLQ, then times the engine alone on the same payloads and cores for the ratio.
The `redrive` scenario also redrives the DLQ back to work every few seconds while uploads go on.
Exits 1 when an upload was lost, a poison file not quarantined with a reason, or a photo not complete.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from deploy.ops.lanes import work_queue_urls
from loadtest.load import options, payloads, route_stats, router_figures, signin, tracker
from loadtest.load.ledger import Ledger, reconcile
from loadtest.load.options import SCENARIOS, parse
from loadtest.load.plot import plot
from loadtest.load.queues import Sampler, wait_until_empty
from loadtest.load.redrive import Redriver
from loadtest.load.report import Drain, drain, drain_after_uploads, headline, summary
from loadtest.load.runner import locust_command, run_to_exit

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient

ENGINE_MIN_IMAGES = 28
ENGINE_ROUNDS = 3


def engine_per_s(pool: payloads.Pool, images: int) -> float:
    """Engine-only full-set images/s, one image per core, on the good payloads the run sent: the
    best of `ENGINE_ROUNDS`, so a noisy moment flatters no drain ratio."""
    from loadtest.bench.handler import engine_parallel
    from shared.variants import DEFAULT_VARIANTS

    count = max(ENGINE_MIN_IMAGES, min(images, 200))
    inputs = [data for name, data in pool.first(count * 2) if not payloads.is_poison(name)][:count]
    walls = [engine_parallel(inputs, DEFAULT_VARIANTS)[0] for _ in range(ENGINE_ROUNDS)]
    return len(inputs) / min(walls)


def drive(
    args: argparse.Namespace, env: dict[str, str]
) -> tuple[Ledger, list[tracker.Upload], list[dict[str, float]]]:
    """Generate payloads, run locust with sampling, reconcile; the stack is `env`'s."""
    ledger_path = args.out / "uploads.jsonl"
    for stale in tracker.ledger_files(ledger_path):
        stale.unlink()
    session = boto3.Session(region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"))
    s3, sqs = session.client("s3"), session.client("sqs")
    code, samples, redriver = upload(args, env, sqs, ledger_path)
    uploads = tracker.read_all(ledger_path)
    if not uploads:
        log = args.out / "locust.log"
        raise SystemExit(f"loadtest: locust exited with {code} and wrote no ledger; see {log}")
    if len(uploads) < args.images:
        say(
            f"{len(uploads)} of {args.images} files reached S3: the API or S3 refused or failed the rest"
            f" (locust_failures.csv), or --max-seconds {args.max_seconds} cut the run short"
        )
    say("reconciling every upload against the buckets and the DLQ")
    ledger = reconcile(s3, sqs, env["IMGPIPE_OUTPUT_BUCKET"], env["IMGPIPE_DLQ_URL"], uploads)
    if ledger.late:
        say(
            f"{ledger.late} uploads ended after the tracker stopped following them (at --drain-timeout"
            " or --max-seconds): counted from their manifests; locust's CSV lists them as e2e lost"
        )
    if redriver is not None:
        ledger.redriven = redriver.moved
        say(f"redrive: {redriver.rounds} rounds moved {redriver.moved} messages back to work")
        for error in redriver.errors[:10]:
            print(f"redrive error: {error}")
    return ledger, uploads, samples


def upload(
    args: argparse.Namespace, env: dict[str, str], sqs: SQSClient, ledger_path: Path
) -> tuple[int, list[dict[str, float]], Redriver | None]:
    """locust's run, with the queues sampled (and, for `redrive`, the DLQ redriven) meanwhile."""
    payload_dir = payloads.generate(args.out / "payloads", args.profile, SCENARIOS[args.scenario])
    queue_url, dlq_url = env["IMGPIPE_QUEUE_URL"], env["IMGPIPE_DLQ_URL"]
    queues = work_queue_urls(env)  # the work queue, and the lanes when there are
    sampler = Sampler(sqs, queues, dlq_url, args.out / "queues.csv", progress=say)
    redriver = Redriver(sqs, dlq_url, queue_url, args.redrive_every) if args.scenario == "redrive" else None
    asking = f"POST /v1/uploads/batch of {args.batch}" if args.batch else "POST /v1/uploads each"
    say(f"{args.images} uploads ({args.profile} profile, {args.scenario}) by {args.users} signed-in"
        f" locust users ({asking})")  # fmt: skip
    sampler.start()
    if redriver is not None:
        redriver.start()
    try:
        with (args.out / "locust.log").open("wb") as log:
            command = locust_command(
                args.out, payload_dir, ledger_path, users=args.users, images=args.images,
                max_seconds=args.max_seconds, drain_timeout=args.drain_timeout,
                rate=args.rate if args.scenario == "steady" else 0.0, processes=args.processes,
                batch=args.batch, target=args.target,
            )  # fmt: skip
            code = subprocess.call(command, env=env, stdout=log, stderr=log)
        if redriver is not None:
            redriver.finish()
        # Records still in flight (redriven copies, a run cut short, the last quarantine's DLQ
        # send after its failed manifest) end before anything is counted.
        if wait_until_empty(sqs, queues, stall_s=args.drain_timeout, cap_s=args.drain_timeout):
            say(f"the work queue still held messages after {args.drain_timeout:.0f}s; reconciling anyway")
    finally:
        if redriver is not None:
            redriver.finish()
        samples = sampler.finish()
    return code, samples, redriver


def say(message: str) -> None:
    """A progress line, on stderr so the figures on stdout stay parseable."""
    print(f"loadtest: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """The whole run; the exit code."""
    if args.scenario == "tenants":  # three phases of their own (docs/fairness.md)
        from loadtest.load import tenants

        return tenants.run(args)
    since = router_figures.mark(args.out / "logs")  # the logs are appended to: this run's start
    ceiling: list[str] = []  # the local stack's bulk pool's CPU ceiling, as it ran
    if args.target == "aws":
        os.environ.update(signin.aws_users(os.environ, args.users, args.processes, say))
        ledger, uploads, samples = drive(args, dict(os.environ))
    else:
        from deploy.local.stack import LocalStack

        lanes_words = options.lanes_words(args)
        say(f"starting the local stack: a moto server and {args.workers} workers, {lanes_words}")
        lanes = options.lane_plan(args)
        with LocalStack(workers=args.workers, log_dir=args.out / "logs", lanes=lanes) as stack:
            os.environ.update(stack.environment())
            ledger, uploads, samples = drive(args, dict(os.environ))
            ceiling = options.ceiling_lines(stack)
            say("stopping the local stack")
    rate, settling = drain(uploads), drain_after_uploads(uploads)
    if not args.no_engine:
        say(f"timing the engine alone on the same payloads ({ENGINE_ROUNDS} rounds, one image per core)")
    engine = 0.0 if args.no_engine else engine_per_s(payloads.load(args.out / "payloads"), args.images)
    picture = plot(samples, uploads, args.out / "loadtest.png", title(args))
    report(args, ledger, rate, settling, engine, picture)
    found = route_stats.routes(args.out / "locust_stats.csv")
    print(route_stats.api_line(found, len(uploads)))
    print(route_stats.e2e_line(uploads))
    for line in [*router_figures.lines(args.out / "logs", since, bulk_tenants=args.users), *ceiling]:
        print(line)  # the router's: a tenant each user
    asks = route_stats.asks(found)
    judged, beside = headline(args.scenario, rate, settling, local=args.target == "local")
    print(summary(ledger, uploads, judged, engine, beside, (asks.p50_ms, asks.p95_ms) if asks else (0, 0)))
    return 0 if ledger.ok else 1


def title(args: argparse.Namespace) -> str:
    """What the plot shows, in its title."""
    where = f"local stack, {args.workers} workers" if args.target == "local" else "AWS"
    return f"{args.scenario}: {args.images} uploads, {args.profile} profile, {args.users} users, {where}"


def report(
    args: argparse.Namespace,
    ledger: Ledger,
    rate: Drain,
    settling: Drain,
    engine: float,
    picture: Path | None,
) -> None:
    """The ledger, the drain, where the reports are, and every problem (the first ten of each)."""
    print(ledger.line() + (f" redriven={ledger.redriven}" if args.scenario == "redrive" else ""))
    print(
        f"drain: {rate.images} images in {rate.seconds:.1f}s ({rate.per_s:.2f}/s); after the last upload"
        f" {settling.images} in {settling.seconds:.1f}s ({settling.per_s:.2f}/s); engine alone:"
        f" {engine:.2f} images/s"
    )
    shown = ["locust.html", "locust_stats.csv", "queues.csv", "uploads*.jsonl", "logs/"]
    print(f"reports in {args.out}/: {', '.join(shown)}" + (f", {picture.name}" if picture else ""))
    for line in ledger.problem_lines():
        print(line)
    for entry in ledger.dlq_doubled[:10]:
        print(f"in the DLQ more than once (reported, not a failure): {entry}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: a usage error exits 2; Ctrl-C or SIGTERM stops everything started, exits 130."""
    run_to_exit("loadtest", run, parse(argv))


if __name__ == "__main__":
    main()
