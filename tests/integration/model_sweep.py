"""`imgpipe sweep` run by the operator while renders are in flight, for the property test.

The sweep is the CLI command itself (`deploy.cli.sweep.sweep`, `--older-than 15m --yes`),
run in a thread of its own with a sync boto3 client, as an operator's terminal would run it
beside the workers. Its S3 client is hooked: at one of its requests (most often the listing of
`processed/`, else a random one) it pauses until no delivery can go on without it, so renders
commit while it works, and its clock then jumps `RAN_FOR` ahead: a sweep of a million
manifests runs for tens of minutes, longer than `--older-than`. Objects keep their real
LastModified; only the sweep's idea of "now" moves, as a long run's would. `final_sweep` is the
sweep the invariant is checked after, once nothing is in flight.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from unittest import mock
from urllib.parse import unquote

import click
import typer

from deploy.cli import common
from deploy.cli import sweep as maintenance
from deploy.ops import sweep as ops_sweep
from tests.integration.conftest import Stack
from tests.integration.model_deliveries import Scheduler

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

OLDER_THAN = "15m"  # the in-flight bound the CLI itself asks for
RAN_FOR = timedelta(hours=1)
IN_FLIGHT_S = 15 * 60  # what OLDER_THAN says, in seconds
WAIT_S = 120  # a pause longer than this is a harness deadlock, not a slow machine
_ONE_AT_A_TIME = threading.Lock()  # the clock and client patches are module-wide


class _SweepClock(datetime):
    """`datetime` as the sweep sees it: real time plus how long it has "run"."""

    ran_for = timedelta(0)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + cls.ran_for


@dataclass(eq=False)  # hashable by identity: botocore keeps handlers in dicts
class SweepRun:
    """One `imgpipe sweep` in a thread: where it pauses, what it deleted, how it ended."""

    stack: Stack
    scheduler: Scheduler
    rng: random.Random
    at_listing: bool = True  # pause before listing processed/, else at a random request
    pause_at: int = 1
    requests: int = 0
    paused: bool = False
    deleted: set[str] = field(default_factory=set)
    outcome: str = "not started"
    future: asyncio.Future[None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.at_listing = self.rng.random() < 0.6
        self.pause_at = self.rng.randint(1, 8)

    def start(self) -> None:
        """Run the sweep in a thread of the loop's default executor."""
        self.future = self.stack.loop.run_in_executor(None, self._run)

    def _run(self) -> None:
        with _ONE_AT_A_TIME, self._patched():
            self.outcome = "running"
            try:
                maintenance.sweep(
                    output_bucket=self.stack.topology.output_bucket,
                    older_than=OLDER_THAN,
                    dry_run=False,
                    yes=True,
                    json_output=True,
                )
                self.outcome = "done"
            except (typer.Exit, click.exceptions.Exit) as exc:  # e.g. a manifest deleted while it was read
                self.outcome = f"exit {exc.exit_code}"

    @contextmanager
    def _patched(self) -> Iterator[None]:
        _SweepClock.ran_for = timedelta(0)

        def clients() -> tuple[S3Client, SQSClient]:
            s3, sqs = common.clients()
            s3.meta.events.register("before-send.s3", self._before_send)
            s3.meta.events.register("provide-client-params.s3.DeleteObjects", self._deleting)
            return s3, sqs

        with ExitStack() as patches:
            patches.enter_context(mock.patch.object(maintenance, "clients", clients))
            for module in (maintenance, ops_sweep):
                if getattr(module, "datetime", None) is datetime:
                    patches.enter_context(mock.patch.object(module, "datetime", _SweepClock))
            yield

    def _before_send(self, request: Any, **_: Any) -> None:
        with self._lock:
            self.requests += 1
            due = not self.paused and self._due(unquote(request.url), self.requests)
            self.paused = self.paused or due
        if due:
            # Renders in flight go on (and commit) while the sweep is held here...
            asyncio.run_coroutine_threadsafe(self.scheduler.quiet(), self.stack.loop).result(WAIT_S)
            _SweepClock.ran_for += RAN_FOR  # ...and the sweep has run for an hour by now

    def _due(self, url: str, number: int) -> bool:
        if self.at_listing:
            return "list-type=2" in url and "prefix=processed/" in url
        return number == self.pause_at

    def _deleting(self, params: dict[str, Any], **_: Any) -> None:
        self.deleted.update(str(o["Key"]) for o in params.get("Delete", {}).get("Objects", []))


def final_sweep(stack: Stack) -> set[str]:
    """`imgpipe sweep`'s own steps once every record is acknowledged, its clock an hour past the
    example (no run is in flight, so every unlisted render is an orphan); the keys it removed."""
    bucket = stack.topology.output_bucket
    cutoff = ops_sweep.cutoff(IN_FLIGHT_S, datetime.now(UTC) + RAN_FOR)
    manifests = ops_sweep.read_manifests(stack.s3, bucket)
    found = ops_sweep.plan(manifests, ops_sweep.list_processed(stack.s3, bucket), cutoff)
    refused = ops_sweep.delete(stack.s3, bucket, found.remove)
    assert refused == [], refused
    return {orphan.stored.key for orphan in found.remove}
