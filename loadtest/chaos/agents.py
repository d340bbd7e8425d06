"""What misbehaves in the chaos run's S3 events, besides the fault proxy: duplicates and
interleavings, each a thread (`Agent`) whose error fails the run.

`Duplicator` sends a second S3 event for a share of the uploads straight to the work queue (a
redriven copy: same body as S3 sends, new messageId), after a random delay so some race the
original and some arrive long after it was processed. `Interleaver` takes another share, once
complete: half get a newer upload of the same key and then the older event again (stale), half
get a second upload under the same imageId with another extension (which must be quarantined as
an `ImageIdConflict` without touching the first). The kills are `kills.Killer`'s.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from typing import TYPE_CHECKING, Self

from deploy.local.topology import Topology
from deploy.ops import reprocess
from loadtest.load.ledger import status
from shared.keys import UPLOAD_PREFIX, parse_upload_key

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

LIST_EVERY_S = 3.0
MAX_DELAY_S = 30.0


def s3_event(bucket: str, key: str, etag: str, size: int) -> str:
    """The body S3 (through SNS, raw delivery) puts on the queue for one created object."""
    parsed = parse_upload_key(key)  # whose: each locust user uploads under its own sub
    upload = reprocess.Upload(key, etag, size, parsed.user_id, parsed.image_id)
    return reprocess.event_body(bucket, upload, os.environ.get("AWS_REGION", "us-east-1"))


def chosen(key: str, share: float) -> bool:
    """A stable choice of `share` of the keys."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10_000 < share * 10_000


class AgentFailed(RuntimeError):
    """An agent stopped on an error, so the run did not get the chaos it asked for."""


class Agent:
    """A thread that misbehaves until `finish()`; an error in it fails the run at `finish()`."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._guarded, daemon=True)
        self._error: BaseException | None = None

    def begin(self) -> Self:
        """Start misbehaving; returns the agent, so it can be made and started in one line."""
        self._thread.start()
        return self

    def finish(self) -> None:
        """Stop, wait for the thread, and raise `AgentFailed` if it stopped on an error."""
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise AgentFailed(f"{type(self).__name__} failed: {self._error!r}") from self._error

    def _guarded(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001 - reported by finish()
            self._error = exc

    def _loop(self) -> None:
        raise NotImplementedError


class Duplicator(Agent):
    """Sends `share` of the uploads' events a second time, each after a random delay."""

    def __init__(
        self,
        s3: S3Client,
        sqs: SQSClient,
        topology: Topology,
        share: float,
        seed: int = 5,
        also: Interleaver | None = None,
    ) -> None:
        super().__init__()
        self.s3, self.sqs, self.topology, self.share, self.also = s3, sqs, topology, share, also
        self.rng = random.Random(seed)
        self.seen: set[str] = set()
        self.due: list[tuple[float, str]] = []
        self.sent = 0

    def _loop(self) -> None:
        while not self._stop.wait(LIST_EVERY_S):
            self._discover()
            now = time.monotonic()
            for item in [d for d in self.due if d[0] <= now]:
                self.due.remove(item)
                self._send(item[1])
        self._discover()
        for _, key in self.due:  # the run is over: whatever is still due goes now
            self._send(key)

    def _discover(self) -> None:
        # every user's uploads: the chaos stack has no uploader but the load test's clients
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.topology.input_bucket, Prefix=UPLOAD_PREFIX
        )
        for item in (i for page in pages for i in page.get("Contents", [])):
            key = item["Key"]
            if key not in self.seen:
                self.seen.add(key)
                if self.also is not None:
                    self.also.offer(key)
                if chosen(key, self.share):
                    self.due.append((time.monotonic() + self.rng.uniform(0, MAX_DELAY_S), key))

    def _send(self, key: str) -> None:
        head = self.s3.head_object(Bucket=self.topology.input_bucket, Key=key)
        body = s3_event(self.topology.input_bucket, key, head["ETag"].strip('"'), head["ContentLength"])
        self.sqs.send_message(QueueUrl=self.topology.queue_url, MessageBody=body)
        self.sent += 1


class Interleaver(Agent):
    """Stale events after a newer upload of the key, and second uploads sharing an imageId."""

    def __init__(
        self, s3: S3Client, sqs: SQSClient, topology: Topology, share: float, good: dict[str, bytes]
    ) -> None:
        super().__init__()
        self.s3, self.sqs, self.topology, self.share, self.good = s3, sqs, topology, share, good
        self.due: list[tuple[float, str, int]] = []
        self.lock = threading.Lock()
        self.reuploaded: list[str] = []  # keys holding a newer upload, whose older event came again
        self.conflicts: list[str] = []  # second keys of an imageId, each to end quarantined

    def offer(self, key: str) -> None:
        """Consider a newly seen upload key."""
        if key not in self.conflicts and chosen("interleave" + key, self.share):
            with self.lock:
                self.due.append((time.monotonic() + 5, key, 0))

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self._act(finishing=False)
        self._act(finishing=True)

    def _act(self, finishing: bool) -> None:
        now = time.monotonic()
        with self.lock:
            ready = [d for d in self.due if d[0] <= now or finishing]
            self.due = [d for d in self.due if d not in ready]
        for _, key, tries in ready:
            state = self._state(key)
            if state is None:  # not yet: look again later (a burst's backlog is long)
                if not finishing:
                    with self.lock:
                        self.due.append((now + 5, key, tries + 1))
                continue
            if state != "complete":
                continue  # a poison upload: a good re-upload would rightly turn it complete
            if chosen("stale" + key, 0.5):
                self._stale(key)
            else:
                self._conflict(key)

    def _state(self, key: str) -> str | None:
        return status(self.s3, self.topology.output_bucket, parse_upload_key(key).image_id)

    def _stale(self, key: str) -> None:
        bucket = self.topology.input_bucket
        old = self.s3.head_object(Bucket=bucket, Key=key)
        ext = key.rsplit(".", 1)[1]
        # Another photo, of the key's own format where the mix has one (the worker goes by content)
        others = [(not n.endswith(ext), d) for n, d in self.good.items()
                  if hashlib.md5(d).hexdigest() != old["ETag"].strip('"')]  # fmt: skip
        body = min(others, key=lambda other: other[0])[1]
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        stale = s3_event(bucket, key, old["ETag"].strip('"'), old["ContentLength"])
        self.sqs.send_message(QueueUrl=self.topology.queue_url, MessageBody=stale, DelaySeconds=3)
        self.reuploaded.append(key)

    def _conflict(self, key: str) -> None:
        ext = key.rsplit(".", 1)[1]
        name, body = next((n, d) for n, d in self.good.items() if not n.endswith(ext))
        other = f"{key.rsplit('.', 1)[0]}.{name.rsplit('.', 1)[1]}"
        self.s3.put_object(Bucket=self.topology.input_bucket, Key=other, Body=body)
        self.conflicts.append(other)
