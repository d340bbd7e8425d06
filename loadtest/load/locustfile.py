"""Clients uploading photos as browsers and phones do: ask for a pre-signed PUT, then PUT the file.

Run by `python -m loadtest.run` (or by hand: `locust -f loadtest/load/locustfile.py --payloads DIR
--images N ...`, with AWS_ENDPOINT_URL and IMGPIPE_INPUT_BUCKET / IMGPIPE_OUTPUT_BUCKET set).
Each upload is tracked to its manifest and reported as request type `e2e`; once every upload has
ended (or `--drain-timeout` passes) the ledger is written and the run stops itself.

In locust's distributed mode (`--processes P`, or a master and `--worker`s on several machines)
each worker uploads its share of `--images` (every `--uploaders`-th upload from its index) and
follows its own uploads, writing its ledger beside the others (`uploads.<index>.jsonl`); the
master only aggregates the statistics, and the run ends when the last worker quits.
"""

from __future__ import annotations

import itertools
import os
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import boto3
import gevent
from locust import HttpUser, constant_throughput, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from deploy.ops.dlq.report import queue_depth
from deploy.ops.uploads import presign_upload
from loadtest.load.payloads import Pool, load
from loadtest.load.shares import Share
from loadtest.load.tracker import POLL_S, Tracker, Upload, poll_due

USER = "loadtest"


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is unannotated
def _arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--payloads", default="out/loadtest/payloads", help="folder from loadtest.load.payloads"
    )
    parser.add_argument("--images", type=int, default=30, help="uploads in all, then the users stop")
    parser.add_argument("--rate", type=float, default=0.0, help="uploads/s in all (0: as fast as possible)")
    parser.add_argument(
        "--drain-timeout", type=float, default=120.0, help="seconds to wait after the last PUT"
    )
    parser.add_argument(
        "--ledger", default="out/loadtest/uploads.jsonl", help="where the uploads are written"
    )
    parser.add_argument(
        "--uploaders", type=int, default=0,
        help="locust worker processes in all, each uploading its share (0: --processes, else 1)",
    )  # fmt: skip


class Plan:
    """What this run uploads and who follows it; one per test run."""

    def __init__(self, environment: Environment) -> None:
        options = environment.parsed_options
        if options is None:  # only locust's library API makes an Environment without a command line
            raise RuntimeError("the locustfile runs under locust's command line (--payloads, --images, ...)")
        self.options = options
        self.pool: Pool = load(Path(options.payloads))
        runner = environment.runner
        self.share = Share.of(options, runner.worker_index if isinstance(runner, WorkerRunner) else None)
        self.counter = itertools.count(self.share.index, self.share.uploaders)
        self.images: int = self.share.count(options.images)
        self.handed_out = 0
        self.written = False
        self.finished = 0
        self.last_put = time.time()
        # botocore reads only AWS_DEFAULT_REGION; the docs (and Lambda) name AWS_REGION.
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        session = boto3.Session(region_name=region)
        s3 = session.client("s3")
        self.queue_url = os.environ.get("IMGPIPE_QUEUE_URL", "")
        self.sqs = session.client("sqs") if self.queue_url else None
        self.s3 = s3
        self.input_bucket = os.environ["IMGPIPE_INPUT_BUCKET"]
        self.kms_key = os.environ.get("IMGPIPE_KMS_KEY_ID") or None

        def fire(name: str, ms: float, exc: Exception | None) -> None:
            environment.events.request.fire(  # type: ignore[no-untyped-call]  # locust's EventHook is unannotated
                request_type="e2e", name=name, response_time=ms, response_length=0, exception=exc, context={}
            )

        self.tracker = Tracker(s3, os.environ["IMGPIPE_OUTPUT_BUCKET"], fire)

    def next_index(self) -> int | None:
        """The next upload's number (in the whole run's mix), or None once all are handed out."""
        if self.handed_out >= self.images:
            return None
        self.handed_out += 1
        return next(self.counter)

    def write(self) -> None:
        """Write this process's ledger (once; what was sent so far if the run is cut short)."""
        if not self.written:
            self.written = True
            self.tracker.write(self.share.ledger(Path(self.options.ledger)))

    def queue_busy(self) -> bool:
        """True while the work queue holds records (visible, in flight or delayed)."""
        if self.sqs is None:
            return False
        try:
            depth = queue_depth(self.sqs, self.queue_url)
        except Exception:  # noqa: BLE001 - unknown counts as busy: the next poll is only delayed
            return True
        return depth.visible + depth.in_flight + depth.delayed > 0

    def uploading(self) -> bool:
        """True while some upload has not finished its PUT."""
        return self.finished < self.images


PLAN: Plan | None = None


@events.test_start.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is unannotated
def _start(environment: Environment, **_: Any) -> None:
    global PLAN
    if isinstance(environment.runner, MasterRunner):
        return  # the workers upload and follow; the master aggregates their statistics
    PLAN = Plan(environment)
    gevent.spawn(_follow, environment, PLAN)


def _follow(environment: Environment, plan: Plan) -> None:
    """Poll manifests until every upload has ended, then write the ledger and stop the run."""
    last_poll = time.monotonic()
    while True:
        gevent.sleep(POLL_S)
        busy = plan.uploading() or plan.queue_busy()
        if not poll_due(busy, time.monotonic() - last_poll):
            continue
        plan.tracker.poll()
        last_poll = time.monotonic()
        if plan.uploading():
            continue
        if not plan.tracker.pending():
            break
        if time.time() - plan.last_put > plan.options.drain_timeout:
            plan.tracker.give_up()
            break
    plan.write()
    # locust's CSV writer rewrites the stats once a CSV_STATS_INTERVAL_SEC and not again at quit
    # (and a worker reports to its master once a WORKER_REPORT_INTERVAL): without this wait the
    # outcomes settled by the last poll are missing from locust_stats.csv.
    gevent.sleep(max(CSV_STATS_INTERVAL_SEC, WORKER_REPORT_INTERVAL) + 0.5)
    if environment.runner is not None:
        environment.runner.quit()


@events.test_stop.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is unannotated
def _stop(environment: Environment, **_: Any) -> None:
    # Cut short (--max-seconds): what was sent is still written, so the runner can reconcile it.
    if PLAN is not None:
        PLAN.write()


class Uploader(HttpUser):
    """A client that uploads one generated photo per task through a pre-signed PUT."""

    host = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")

    def wait_time(self) -> float:
        """No pause in a burst; with `--rate`, each user's share of the total rate."""
        options = self.environment.parsed_options
        if not options.rate:
            return 0.0
        users = max(1, self.environment.runner.user_count if self.environment.runner else 1)
        uploaders = PLAN.share.uploaders if PLAN else 1  # the rate is the whole run's
        pace: float = constant_throughput(options.rate / uploaders / users)(self)
        return pace

    @task
    def upload(self) -> None:
        """Presign, PUT, and hand the upload to the tracker."""
        plan = PLAN
        index = plan.next_index() if plan else None
        if plan is None or index is None:
            raise StopUser()
        name, body = plan.pool.pick(index)
        try:
            grant = presign_upload(plan.s3, plan.input_bucket, USER, name, plan.kms_key)
            started = time.time()
            with self.client.put(
                grant["url"], data=body, headers=grant["headers"], name="presigned PUT", catch_response=True
            ) as response:
                put_ms = (time.time() - started) * 1000
                if response.status_code == 200:
                    plan.tracker.track(Upload(grant["imageId"], grant["key"], name, started, put_ms))
                else:
                    response.failure(f"PUT {response.status_code}: {response.text[:200]}")
        finally:
            plan.finished += 1
            plan.last_put = time.time()
