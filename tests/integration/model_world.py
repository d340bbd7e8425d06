"""The property test's world: what uploaders, S3, SNS and the operator do around the workers.

Two keys share one imageId. A plan of actions (uploads, good or corrupt; the source deleted,
as lifecycle expiry or the app would; the owner deleting the whole image through the API's
`delete_image`; late duplicates and DLQ redrives of earlier events; the operator deleting the
manifest and re-queueing the key as `imgpipe reprocess` does; `imgpipe sweep`) is carried out
one action at a time, either from inside a run's request (`Chaos`) or
when every delivery is done. Every event an action causes is received from the real queue and
delivered (sometimes twice, as SNS may) through the `Scheduler`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from deploy.ops import reprocess
from shared.keys import manifest_key
from tests.integration.conftest import REGION, Stack, redelivered
from tests.integration.interleave import body_key
from tests.integration.model_deletion import DeletionRun
from tests.integration.model_deliveries import Scheduler
from tests.integration.model_log import ManifestLog
from tests.integration.model_sweep import SweepRun

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef

REDRIVE_COUNT = "imgpipe-redrive-count"
EVENT_WAIT_S = 15


@dataclass(frozen=True)
class Upload:
    """One object put to a key, in the order they happened."""

    key: str
    etag: str
    good: bool
    order: int
    modified: datetime | None = None  # S3's Last-Modified (None: deleted before it was read)


@dataclass(eq=False)
class World:
    """The example's keys, what happened to them, and the actions still to come."""

    stack: Stack
    scheduler: Scheduler
    rng: random.Random
    image_id: str
    log: ManifestLog
    user_id: str = "u1"
    duplicate_rate: float = 0.25
    uploads: list[Upload] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)  # keys whose source was deleted at some point
    events: list[dict[str, Any]] = field(default_factory=list)  # every event delivered, for late copies
    sweeps: list[SweepRun] = field(default_factory=list)
    deletions: list[DeletionRun] = field(default_factory=list)  # the owner's `DELETE`s
    story: list[str] = field(default_factory=list)
    actions: deque[tuple[str, Callable[[], None]]] = field(default_factory=deque)

    @property
    def keys(self) -> tuple[str, str]:
        """The two keys sharing the imageId."""
        prefix = f"uploads/{self.user_id}/{self.image_id}"
        return (f"{prefix}.jpg", f"{prefix}.png")

    def act(self) -> None:
        """Carry out the next planned action now, if any is left."""
        if self.actions:
            what, action = self.actions.popleft()
            self.story.append(what)
            action()

    async def play(self) -> None:
        """Carry out every action, each when called for or once all deliveries are done, then
        wait until every message is acknowledged (or given up) and every sweep has finished."""
        while True:
            await self.scheduler.idle()
            if self.actions:
                self.act()
                continue
            threads: list[SweepRun | DeletionRun] = [*self.sweeps, *self.deletions]
            running = [run.future for run in threads if run.future and not run.future.done()]
            if not running:
                break
            await asyncio.gather(*running, return_exceptions=True)
        finished: list[SweepRun | DeletionRun] = [*self.sweeps, *self.deletions]
        for run in finished:
            if run.future is not None:
                run.future.result()  # a sweep that broke, not one that refused, fails the example

    # ----- the actions

    def upload(self, key: str, body: bytes, good: bool) -> None:
        """Put `body` to `key`; deliver its event (sometimes twice)."""
        etag = self.stack.upload(key, body)
        self.uploads.append(Upload(key, etag, good, len(self.uploads), self._modified(key, etag)))
        self.story[-1] += f" -> {etag[:8]}"
        for event in receive_events(self.stack, set(self.keys), 1):
            self._deliver(event, copies=2 if self.rng.random() < self.duplicate_rate else 1)

    def delete_source(self, key: str) -> None:
        """Delete the upload (lifecycle expiry, or the app once it has its variants)."""
        self.stack.s3.delete_object(Bucket=self.stack.topology.input_bucket, Key=key)
        self.deleted.add(key)

    def delete_image(self) -> None:
        """The owner deletes the image (`DELETE /v1/images/{id}`), in a thread beside the runs."""
        run = DeletionRun(self.stack, self.scheduler, self.log, random.Random(self.rng.random()),
                          self.user_id, self.image_id)  # fmt: skip
        self.story[-1] += f" (pauses before request {run.pause_at or 'none'})"
        self.deletions.append(run)
        run.start()

    def late(self, redrive: bool) -> None:
        """An earlier event again: an at-least-once duplicate, or a DLQ redrive of its body."""
        event = redelivered(self.rng.choice(self.events))
        if redrive:
            count = {"DataType": "String", "StringValue": str(self.rng.randint(1, 3))}
            event["MessageAttributes"] = {**event.get("MessageAttributes", {}), REDRIVE_COUNT: count}
        self.story[-1] += f" of {body_key(event).rsplit('.', 1)[1]} {_etag(event)[:8]}"
        self.scheduler.spawn(event)

    def reprocess(self) -> None:
        """The operator deletes the manifest, then re-queues the image's uploads as `imgpipe
        reprocess` does: an S3-shaped event per upload, sent to the work queue. Once the owner
        has deleted the image, the operator never deletes its manifest (the tombstone keeps it
        deleted, docs/consistency.md) and only re-queues what the keys hold."""
        stack = self.stack
        if not self.deletions:
            stack.s3.delete_object(Bucket=stack.topology.output_bucket, Key=manifest_key(self.image_id))
            self.log.operator_deleted()
        listing = reprocess.list_uploads(stack.s3, stack.topology.input_bucket, self.user_id)
        mine = [u for u in listing.uploads if u.image_id == self.image_id]
        bodies = [(u, reprocess.event_body(stack.topology.input_bucket, u, REGION)) for u in mine]
        refused = reprocess.send_events(stack.sqs, stack.topology.queue_url, bodies, reprocess.Pacer(1000))
        assert refused == [], refused
        self.story[-1] += f" ({len(mine)} re-queued)"
        for event in receive_events(stack, set(self.keys), len(mine)):
            self._deliver(event)

    def sweep(self, sweep: SweepRun) -> None:
        """Start `imgpipe sweep` in its own thread; it runs alongside whatever is in flight."""
        self.sweeps.append(sweep)
        sweep.start()

    def _modified(self, key: str, etag: str) -> datetime | None:
        try:
            head = self.stack.s3.head_object(Bucket=self.stack.topology.input_bucket, Key=key)
        except self.stack.s3.exceptions.ClientError:
            return None  # a deletion in flight removed it already: it covered it
        return head["LastModified"] if str(head["ETag"]).strip('"') == etag else None

    def _deliver(self, event: dict[str, Any], copies: int = 1) -> None:
        self.events.append(event)
        self.scheduler.spawn(event)
        for _ in range(copies - 1):
            self.scheduler.spawn(redelivered(event))


def _etag(message: dict[str, Any]) -> str:
    return str(json.loads(message["Body"])["Records"][0]["s3"]["object"].get("eTag", ""))


def receive_events(stack: Stack, keys: set[str], expected: int) -> list[dict[str, Any]]:
    """The next `expected` events for `keys` from the work queue; everything received is deleted
    (the test delivers by hand; an earlier, failed example's leftovers are dropped)."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + EVENT_WAIT_S
    queue = stack.topology.queue_url
    while len(found) < expected and time.monotonic() < deadline:
        batch = stack.sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if batch:
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ]
            stack.sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
        found += [dict(m) for m in batch if "Records" in m["Body"] and body_key(m) in keys]
    assert len(found) == expected, f"{len(found)} of {expected} events reached the queue"
    return [{**m, "ReceiptHandle": uuid.uuid4().hex} for m in found]
