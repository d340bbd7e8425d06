"""`make chaos`: the load test's uploads through a local stack that misbehaves, then the ledger.

Locust's signed-in clients upload through the client API exactly as `make loadtest` has them do
(the same locustfile: a form from POST /v1/uploads, a POST to S3, polls of the image's status),
while: the workers reach AWS through `deploy.local.faults` (10% of requests faulted:
latency, 503 SlowDown, 500, resets, answers lost after the request landed); 3% of the uploads are
poison (truncated, text, a disguised SVG, a PNG bomb); 5% of the uploads get a second S3 event
sent to the queue (a redriven copy with a new messageId, some racing the original, some long
after it); and every `--kill-every` seconds the busiest worker (every third time the router) is
SIGKILLed mid-batch and replaced, so its batch returns only after the visibility timeout. A short
function timeout (and record budget) makes that redelivery happen within the run. The stack runs
the lanes as Terraform deploys them (docs/fairness.md): the router's HEADs and sends meet the
faults too, and what it could not route would be in its own DLQ, read with the DLQ's.

Exits 1 unless lost = 0, inconsistent = 0, stuck = 0 and quarantined = the poison count exactly.
"""

from __future__ import annotations

import os
import subprocess
import time
from argparse import Namespace
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from deploy.local.faults import FaultPlan
from deploy.local.lanes import LanePlan
from deploy.local.stack import LocalStack
from deploy.local.topology import QueueSettings
from deploy.ops.lanes import work_queue_urls
from loadtest.chaos import ledger as chaos_ledger
from loadtest.chaos.agents import Agent, AgentFailed, Duplicator, Interleaver
from loadtest.chaos.kills import Killer
from loadtest.chaos.mix import mix
from loadtest.chaos.options import parse
from loadtest.load import payloads, tracker
from loadtest.load.ledger import dlq_reasons, reconcile
from loadtest.load.queues import wait_until_empty
from loadtest.load.runner import locust_command, run_to_exit
from shared.keys import parse_upload_key

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

RESULTS_TOPIC = "arn:aws:sns:us-east-1:123456789012:imgpipe-chaos-results"  # moto's account


def drive(args: Namespace, stack: LocalStack) -> chaos_ledger.ChaosLedger:
    """Upload with locust while the agents duplicate and kill; then settle and reconcile."""
    env = {**os.environ, **stack.environment()}
    session = boto3.Session(region_name=env["AWS_REGION"])
    s3, sqs = session.client("s3"), session.client("sqs")
    topology = stack.topology
    folder = mix(args.out / "payloads", args.poison)
    ledger_path = args.out / "uploads.jsonl"
    ledger_path.unlink(missing_ok=True)
    pool = payloads.load(folder)
    good = {name: data for name, data in pool.files.items() if not payloads.is_poison(name)}
    interleaver = Interleaver(s3, sqs, topology, args.interleave, good).begin()
    duplicator = Duplicator(s3, sqs, topology, args.duplicates, also=interleaver).begin()
    killer = Killer(stack, sqs, args.kill_every).begin() if args.kill_every > 0 else None
    started = time.monotonic()
    code = _locust(args, env, folder, ledger_path, [killer, duplicator, interleaver])
    if not ledger_path.exists():
        raise SystemExit(
            f"chaos: locust exited with {code} and wrote no ledger; see {args.out / 'locust.log'}"
        )
    uploaded = time.monotonic()
    # Stuck: the queues have not shrunk for three visibility timeouts (a redelivery had its chance).
    visibility = stack.queue.visibility_timeout_s
    stuck = wait_until_empty(sqs, work_queue_urls(env), stall_s=3 * visibility + 30, cap_s=1800)
    print(f"phases: locust (uploads until every manifest) {uploaded - started:.0f}s,"
          f" queue empty {time.monotonic() - uploaded:.0f}s later")  # fmt: skip
    # Read once: each read holds every message for a while, so a second one may see fewer.
    quarantined = dlq_reasons(sqs, topology.dlq_url)
    if stack.lane_queues is not None:  # what the router could not route is quarantined, not lost
        for key, reasons in dlq_reasons(sqs, stack.lane_queues.router_dlq_url).items():
            quarantined.setdefault(key, []).extend(reasons)
    result = settle(args, stack, s3, sqs, tracker.read(ledger_path), stuck, duplicator.sent, quarantined)
    result.reuploaded = [parse_upload_key(key).image_id for key in interleaver.reuploaded]
    result.conflicts = list(interleaver.conflicts)
    result.conflicts_not_quarantined = [key for key in interleaver.conflicts if key not in quarantined]
    result.killer = killer.summary() if killer is not None else ""
    return result


def _locust(
    args: Namespace, env: dict[str, str], folder: Path, ledger_path: Path, agents: list[Agent | None]
) -> int:
    """locust's run while the agents misbehave; they stop in order however it ends."""
    try:
        with (args.out / "locust.log").open("wb") as log:
            command = locust_command(
                args.out, folder, ledger_path, users=args.users, images=args.uploads,
                max_seconds=args.max_seconds, drain_timeout=args.drain_timeout,
            )  # fmt: skip
            return subprocess.call(command, env=env, stdout=log, stderr=log)
    finally:  # the killer first: no worker may be started once the stack stops
        for agent in agents:
            if agent is not None:
                agent.finish()


def settle(
    args: Namespace,
    stack: LocalStack,
    s3: S3Client,
    sqs: SQSClient,
    uploads: list[tracker.Upload],
    stuck: int,
    sent: int,
    quarantined: dict[str, list[str]],
) -> chaos_ledger.ChaosLedger:
    """The ledger, from the buckets, the DLQ's messages (`quarantined`) and the proxy."""
    topology = stack.topology
    proxy = stack.fault_proxy
    stats = proxy.stats() if proxy is not None else {}
    ledger = reconcile(s3, sqs, topology.output_bucket, topology.dlq_url, uploads, quarantined)
    return chaos_ledger.ChaosLedger(
        ledger=ledger,
        poison=ledger.poison,
        inconsistent=chaos_ledger.inconsistent(s3, topology.output_bucket, topology.input_bucket, uploads),
        renders=chaos_ledger.renders_from_log(proxy.log) if proxy and proxy.log else Counter(),
        receive_counts=chaos_ledger.receive_counts(stats),
        stuck=stuck,
        faults=chaos_ledger.fault_counts(stats),
        kills=stack.kills,
        duplicates_sent=sent,
        kill_every_s=args.kill_every,
    )


def run(args: Namespace) -> int:
    """The whole run; the exit code."""
    args.out.mkdir(parents=True, exist_ok=True)
    # A short timeout and record budget, so a killed batch is redelivered within the run; the
    # stack checks the pair (and the workers read the budget) from the environment.
    os.environ["IMGPIPE_RECORD_BUDGET_MS"] = str(args.budget_ms)
    # Result events, so SNS calls meet faults too: a topic of their own, created once the server
    # runs (before any image is done; a publish is best effort anyway).
    os.environ["IMGPIPE_RESULT_TOPIC_ARN"] = RESULTS_TOPIC
    queue = QueueSettings.for_timeout(args.timeout, batching_window_s=1)
    plan = FaultPlan.transient(args.faults)
    logs = args.out / "logs"
    with LocalStack(workers=args.workers, queue=queue, log_dir=logs, faults=plan, lanes=LanePlan()) as stack:
        os.environ.update(stack.environment())
        stack.session.client("sns").create_topic(Name=RESULTS_TOPIC.rsplit(":", 1)[1])
        try:
            result = drive(args, stack)
        except AgentFailed as exc:
            raise SystemExit(f"chaos: {exc}") from exc
    print(result.line())
    print("\n".join(result.details()))
    for image_id in result.ledger.lost[:10]:
        print(f"lost: {image_id}")
    for problem in result.inconsistent[:10]:
        print(f"inconsistent: {problem}")
    for image_id in result.ledger.poison_not_quarantined[:10]:
        print(f"poison not quarantined: {image_id}")
    for reason in result.failures():
        print(f"chaos: FAIL: {reason}")
    print(f"reports in {args.out}/: locust.html, locust_stats.csv, uploads.jsonl, logs/ (faults.log)")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    run_to_exit("chaos", run, parse(argv))


if __name__ == "__main__":
    main()
