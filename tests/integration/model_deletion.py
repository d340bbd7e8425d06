"""A user deleting the image (`DELETE /v1/images/{id}`) while renders, duplicates and redrives are
in flight, for the property test.

The deletion is the API's own function (`worker.api.deletion.delete_image`) with a sync boto3
client in a thread of its own, as the API Lambda runs beside the workers. Its client is hooked:
at one of its requests (reading the manifest, listing the uploads, the tombstone's conditional
write, the removals) it may pause until no delivery can go on without it, so renders commit,
lose and clean up inside each of its windows. Every tombstone S3 accepts is written to the
example's `ManifestLog` (what was ever complete is forgotten there, as after an operator's delete).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from shared.errors import RetryableError
from shared.keys import manifest_key
from shared.manifest import Manifest, parse_manifest, parse_time
from tests.integration.conftest import Stack
from tests.integration.model_deliveries import Scheduler
from tests.integration.model_log import ManifestLog
from worker.api.deletion import delete_image

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

CLIENT_TRIES = 3
WAIT_S = 120  # a pause longer than this is a harness deadlock, not a slow machine
_BODY = "imgpipe-test-tombstone"


@dataclass(eq=False)  # hashable by identity: botocore keeps handlers in dicts
class DeletionRun:
    """One `delete_image` in a thread: where it pauses, what it wrote, how it ended."""

    stack: Stack
    scheduler: Scheduler
    log: ManifestLog
    rng: random.Random
    user_id: str
    image_id: str
    pause_at: int = 0  # the request it pauses before (0: none)
    requests: int = 0
    outcome: str = "not started"
    tombstones: list[Manifest] = field(default_factory=list)  # every one S3 accepted
    future: asyncio.Future[None] | None = None

    def __post_init__(self) -> None:
        self.pause_at = self.rng.choice([0, 1, 2, 3, 3, 4, 5, 6, 7])

    def start(self) -> None:
        """Run the deletion in a thread of the loop's default executor, with a client of its own."""
        # Made here (a boto3 session is not thread-safe), with the API's standard retries: the
        # harness turns the SDK's retries off for the workers, whose own retries are under test.
        s3 = self.stack.session.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 5}))
        s3.meta.events.register("before-send.s3", self._before_send)
        s3.meta.events.register("provide-client-params.s3.PutObject", self._params)
        s3.meta.events.register("after-call.s3.PutObject", self._after_call)
        self.future = self.stack.loop.run_in_executor(None, self._run, s3)

    @property
    def last_deleted_at(self) -> str | None:
        """The `deletedAt` of the last tombstone this deletion wrote."""
        return self.tombstones[-1].deleted_at if self.tombstones else None

    def _run(self, s3: S3Client) -> None:
        topology = self.stack.topology
        self.outcome = "running"
        for _ in range(CLIENT_TRIES):
            try:
                self.outcome = delete_image(
                    s3,
                    input_bucket=topology.input_bucket,
                    output_bucket=topology.output_bucket,
                    user_id=self.user_id,
                    image_id=self.image_id,
                )
                return
            except RetryableError as exc:  # the API answers 503; the app deletes again
                self.outcome = f"retried: {exc}"

    def _before_send(self, request: Any, **_: Any) -> None:
        self.requests += 1
        if self.requests == self.pause_at:
            # Renders in flight go on (commit, lose, clean up) while the deletion is held here.
            asyncio.run_coroutine_threadsafe(self.scheduler.quiet(), self.stack.loop).result(WAIT_S)

    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == manifest_key(self.image_id):
            context[_BODY] = params["Body"]

    def _after_call(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if _BODY in context and http_response.status_code == 200:
            written = parse_manifest(context[_BODY])
            self.tombstones.append(written)
            self.log.written.append(written)


def latest_deletion(runs: list[DeletionRun]) -> str | None:
    """The latest `deletedAt` of every tombstone S3 accepted in the example, if any."""
    times = [t.deleted_at for run in runs for t in run.tombstones if t.deleted_at is not None]
    return max(times, key=parse_time) if times else None
