"""Random interleavings of two or three uploads of one key and one imageId, with faults and crashes.

Each example uploads to two keys that share an imageId, re-uploads at random moments (from inside
a run's requests), hands every event (and some duplicates) to one of three instances that run
concurrently with random delays, 503s and crashes at random requests, then redelivers whatever
was not acknowledged until every record is, and finally reads every stored variant back.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.manifest import Manifest
from tests.fixtures import images
from tests.integration.conftest import SLOW_DOWN, Stack, error_response, redelivered
from tests.integration.interleave import (
    Crash,
    Instance,
    body_key,
    current_etag,
    dlq_reasons,
    invariant_violations,
)

pytestmark = pytest.mark.integration

# IMGPIPE_PROPERTY_EXAMPLES=200 for a longer search than `make test`'s 12 examples.
INSTANCES = 3
CHAOS_ROUNDS = 3
CLEAN_ROUNDS = 4
_examples = itertools.count()


@dataclass(eq=False)  # hashable by identity: botocore keeps handlers in dicts
class Chaos:
    """Per-request mischief for one example: delays, 503s, crashes and uploads fired mid-run."""

    rng: random.Random
    stack: Stack
    fault_rate: float = 0.15
    crash_rate: float = 0.05
    on: bool = True
    requests: int = 0
    pending_uploads: list[tuple[int, str, bytes]] = field(default_factory=list)
    uploaded: int = 0
    crashes: int = 0
    faults: int = 0

    async def __call__(self, request: Any, **_: Any) -> Any:
        self.requests += 1
        self.fire_uploads(at=self.requests)
        await asyncio.sleep(self.rng.uniform(0, 0.01))  # reorders concurrent runs at every request
        if not self.on:
            return None
        draw = self.rng.random()
        if draw < self.crash_rate:
            self.crashes += 1
            raise Crash
        if draw < self.crash_rate + self.fault_rate:
            self.faults += 1
            return error_response(request.url, *SLOW_DOWN)
        return None

    def fire_uploads(self, at: int | None = None) -> None:
        """Upload what is due at request `at` (all that is left when None)."""
        for planned in list(self.pending_uploads):
            if at is None or planned[0] == at:
                self.pending_uploads.remove(planned)
                self.stack.upload(planned[1], planned[2])
                self.uploaded += 1


def _content(rng: random.Random) -> tuple[bytes, bool]:
    """A generated upload and whether it is a good image."""
    if rng.random() < 0.15:
        return images.truncated_jpeg(320, 240), False
    seed = rng.randrange(1_000)
    return images.photo_jpeg(rng.choice((160, 240, 320)), rng.choice((120, 200)), seed=seed), True


@pytest.fixture
def instances(stack: Stack) -> Iterator[list[Instance]]:
    made = [Instance(stack) for _ in range(INSTANCES)]
    yield made
    for one in made:
        stack.loop.run_until_complete(one.close())


async def _round(
    fleet: list[Instance], messages: list[dict[str, Any]], history: list[dict[str, Any]], rng: random.Random
) -> list[dict[str, Any]]:
    """Each message, some duplicates and a stale old event on random instances, all at once;
    returns what must come again."""
    work = [(m, rng.choice(fleet)) for m in messages]
    work += [(redelivered(m), rng.choice(fleet)) for m in messages if rng.random() < 0.25]
    if history and rng.random() < 0.5:
        work.append((redelivered(rng.choice(history)), rng.choice(fleet)))  # an older event, late
    history.extend(messages)
    rng.shuffle(work)

    async def one(message: dict[str, Any], instance: Instance) -> dict[str, Any] | None:
        try:
            left = await instance.run([message])
        except Crash:
            return redelivered(message)
        return redelivered(message) if left else None

    results = await asyncio.gather(*(one(m, i) for m, i in work))
    return [m for m in results if m is not None]


@settings(
    max_examples=int(os.environ.get("IMGPIPE_PROPERTY_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_interleavings_keep_every_complete_manifest_true(
    stack: Stack, instances: list[Instance], seed: int
) -> None:
    # One seed drives every choice: hypothesis reports it, `random.Random(seed)` replays it. (The
    # runs' own timing decides how often the chaos hook draws, which hypothesis' data cannot follow.)
    rng = random.Random(seed)
    for queue in (stack.topology.queue_url, stack.topology.dlq_url):
        stack.take_all(queue)  # nothing left over from an earlier example
    # Given two keys sharing one imageId and 2-3 uploads to them, the later ones fired mid-run
    image_id = f"p{next(_examples)}"
    keys = (f"uploads/u1/{image_id}.jpg", f"uploads/u1/{image_id}.png")
    plan = [(rng.choice((keys[0], keys[0], keys[1])), *_content(rng)) for _ in range(rng.randint(2, 3))]
    good = {_etag_of(body): ok for _, body, ok in plan}
    chaos = Chaos(rng, stack)
    for member in instances:
        for service in ("s3", "sqs"):
            stack.loop.run_until_complete(member.hook(service, f"before-send.{service}", chaos))
    try:
        _play(stack, instances, chaos, plan)
    finally:
        for member in instances:
            member.unhook()

    # Then every complete manifest lists exactly its stored bytes and its key's current upload
    assert invariant_violations(stack, image_id) == []
    manifest = Manifest.model_validate_json(stack.read_output(f"metadata/{image_id}/processing-info.json"))
    owner = manifest.source.key
    assert manifest.source.etag == current_etag(stack, owner)
    assert manifest.status == ("complete" if good[manifest.source.etag] else "failed")
    # and what was quarantined was quarantined for its own reason
    allowed = {(k, "ImageIdConflict") for k in keys if k != owner} | {(k, "CorruptImage") for k in keys}
    for quarantined in dlq_reasons(stack):
        assert quarantined in allowed, (quarantined, owner)


def _play(stack: Stack, fleet: list[Instance], chaos: Chaos, plan: list[tuple[str, bytes, bool]]) -> None:
    """Upload, then handle every event under chaos, then without it until all are acknowledged."""
    key, body, _ = plan[0]
    stack.upload(key, body)
    chaos.pending_uploads = [(chaos.rng.randint(1, 20), key, body) for key, body, _ in plan[1:]]
    keys = {key for key, _, _ in plan}
    pending, seen = _events(stack, keys, 1), 1
    history: list[dict[str, Any]] = []
    for round_number in range(CHAOS_ROUNDS + CLEAN_ROUNDS):
        chaos.on = round_number < CHAOS_ROUNDS
        if not chaos.on:
            chaos.fire_uploads()
        pending = stack.loop.run_until_complete(_round(fleet, pending, history, chaos.rng))
        if chaos.uploaded + 1 > seen:
            pending += _events(stack, keys, chaos.uploaded + 1 - seen)
            seen = chaos.uploaded + 1
        if not pending and not chaos.pending_uploads:
            return
    raise AssertionError(f"{len(pending)} records still unacknowledged after {CLEAN_ROUNDS} clean rounds")


def _events(stack: Stack, keys: set[str], expected: int) -> list[dict[str, Any]]:
    """The next `expected` upload events for `keys` (an earlier, failed example's are dropped)."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while len(found) < expected and time.monotonic() < deadline:
        batch = stack.sqs.receive_message(
            QueueUrl=stack.topology.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
        ).get("Messages", [])
        found += [m for m in batch if "Records" in m["Body"] and body_key(m) in keys]
    assert len(found) == expected, f"{len(found)} of {expected} upload events reached the queue"
    return found


def _etag_of(body: bytes) -> str:
    import hashlib

    return hashlib.md5(body).hexdigest()  # S3's ETag of a single-part upload
