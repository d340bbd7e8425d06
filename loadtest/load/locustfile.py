"""Clients uploading photos as apps do, through the client API: sign in, ask for signed forms,
POST each file to S3, and poll each image's status until it is complete or failed.

Run by `python -m loadtest.run` (or by hand: `locust -f loadtest/load/locustfile.py --payloads DIR
--images N ...`, with IMGPIPE_API_URL, IMGPIPE_USER_POOL_ID and IMGPIPE_USER_POOL_CLIENT_ID set;
see `loadtest.load.signin` for `--target aws`). Each user is its own Cognito user; each upload's
`e2e` runs from asking for its form to seeing its final status (`loadtest.load.tracker`). Once
every upload has ended (or `--drain-timeout` passes) the ledger is written and the run stops.

In locust's distributed mode (`--processes P`, or a master and `--worker`s on several machines)
each worker uploads its share of `--images` (every `--uploaders`-th upload from its index) and
follows its own uploads, writing its ledger beside the others (`uploads.<index>.jsonl`); the
master only aggregates the statistics, and the run ends when the last worker quits.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, constant_throughput, events, task
from locust.clients import HttpSession
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from deploy.client import ImgpipeApi
from loadtest.load.app import Client, File
from loadtest.load.follow import Follower
from loadtest.load.payloads import Pool, load
from loadtest.load.shares import Share
from loadtest.load.signin import token_source, user_name
from loadtest.load.tracker import Tracker

CHECK_S = 0.5  # how often the run looks whether every upload has ended


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is unannotated
def _arguments(parser: ArgumentParser) -> None:
    add = parser.add_argument
    add("--payloads", default="out/loadtest/payloads", help="folder from loadtest.load.payloads")
    add("--images", type=int, default=30, help="uploads in all, then the users stop")
    add("--rate", type=float, default=0.0, help="uploads/s in all (0: as fast as possible)")
    add("--batch", type=int, default=0, help="files per POST /v1/uploads/batch (0: POST /v1/uploads each)")
    add("--target", choices=["local", "aws"], default="local", help="whose user pool to sign in to")
    add("--tenant", default="", help="every user signs in as this one user (one tenant, many connections)")
    add("--drain-timeout", type=float, default=120.0, help="seconds to follow uploads after the last one")
    add("--ledger", default="out/loadtest/uploads.jsonl", help="where the uploads are written")
    add("--uploaders", type=int, default=0,
        help="locust worker processes in all, each uploading its share (0: --processes, else 1)")  # fmt: skip


class Plan:
    """What this process uploads and who follows it; one per test run."""

    def __init__(self, environment: Environment) -> None:
        options = environment.parsed_options
        if options is None:  # only locust's library API makes an Environment without a command line
            raise RuntimeError("the locustfile runs under locust's command line (--payloads, --images, ...)")
        self.options = options
        self.pool: Pool = load(Path(options.payloads))
        runner = environment.runner
        self.share = Share.of(options, runner.worker_index if isinstance(runner, WorkerRunner) else None)
        self.counter = itertools.count(self.share.index, self.share.uploaders)
        self.user_numbers = itertools.count(self.share.index, self.share.uploaders)
        self.images: int = self.share.count(options.images)
        self.handed_out = self.finished = 0
        self.written = False
        self.last_sent = time.time()
        self.clients: list[Client] = []

        def fire(name: str, ms: float, exc: Exception | None) -> None:
            environment.events.request.fire(  # type: ignore[no-untyped-call]  # locust's EventHook is unannotated
                request_type="e2e", name=name, response_time=ms, response_length=0, exception=exc, context={}
            )

        self.tracker = Tracker(fire)

    def take(self, count: int) -> list[File]:
        """The next `count` files of this process's share (fewer at its end, none once all are out)."""
        taken = min(count, self.images - self.handed_out)
        self.handed_out += taken
        return [self.pool.pick(next(self.counter)) for _ in range(taken)]

    def uploading(self) -> bool:
        """True while some file has not been sent (or refused)."""
        return self.finished < self.images

    def write(self) -> None:
        """Write this process's ledger (once; what was sent so far if the run is cut short)."""
        if not self.written:
            self.written = True
            self.tracker.write(self.share.ledger(Path(self.options.ledger)))
            if not_sent := sum(client.not_sent for client in self.clients):
                print(f"loadtest: {not_sent} files never reached S3 (see locust's failures)", file=sys.stderr)


PLAN: Plan | None = None


@events.test_start.add_listener  # type: ignore[untyped-decorator]  # locust's EventHook is unannotated
def _start(environment: Environment, **_: Any) -> None:
    global PLAN
    if isinstance(environment.runner, MasterRunner):
        return  # the workers upload and follow; the master aggregates their statistics
    PLAN = Plan(environment)
    gevent.spawn(_finish, environment, PLAN)


def _finish(environment: Environment, plan: Plan) -> None:
    """Once every upload has ended (or --drain-timeout passed), write the ledger and stop the run."""
    while True:
        gevent.sleep(CHECK_S)
        if plan.uploading():
            continue
        if not plan.tracker.pending():
            break
        if time.time() - plan.last_sent > plan.options.drain_timeout:
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


class AppUser(HttpUser):
    """A signed-in app: sends files on one connection, polls their status on another."""

    host = os.environ.get("IMGPIPE_API_URL", "")

    def wait_time(self) -> float:
        """No pause in a burst; with `--rate`, each user's share of the total rate."""
        options = self.environment.parsed_options
        if not options.rate:
            return 0.0
        users = max(1, self.environment.runner.user_count if self.environment.runner else 1)
        uploaders = PLAN.share.uploaders if PLAN else 1  # the rate is the whole run's
        pace: float = constant_throughput(options.rate / uploaders / users / max(1, options.batch))(self)
        return pace

    def on_start(self) -> None:
        """Sign in as this user's own Cognito user, and start following its uploads."""
        plan = PLAN
        if plan is None:
            raise StopUser()
        name = plan.options.tenant or user_name(next(plan.user_numbers))
        tokens = token_source(os.environ, plan.options.target, name)
        started = time.perf_counter()
        try:
            tokens()
        except Exception as exc:  # noqa: BLE001 - reported in locust's stats; the others upload its share
            self._signed_in(started, exc)
            raise StopUser() from exc
        self._signed_in(started, None)
        polls = HttpSession(self.host, self.environment.events.request, self)
        follower = Follower(ImgpipeApi(self.host, tokens, polls).image, plan.tracker)
        self.app = Client(ImgpipeApi(self.host, tokens, self.client), plan.tracker, follower)
        plan.clients.append(self.app)
        gevent.spawn(follower.run, plan.uploading, gevent.sleep)

    def _signed_in(self, started: float, exc: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="cognito", name="sign in", response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=exc, context={},
        )  # fmt: skip

    @task
    def upload(self) -> None:
        """The next file (or, for a bulk uploader, the next `--batch` files): ask, send, follow."""
        plan = PLAN
        batch = plan.options.batch if plan else 0
        files = plan.take(max(1, batch)) if plan else []
        if plan is None or not files:
            raise StopUser()
        try:
            if batch:
                self.app.upload_batch(files)
            else:
                self.app.upload(files[0])
        finally:
            plan.finished += len(files)
            plan.last_sent = time.time()
