"""Random interleavings of uploads, deletes, late events, an operator's reprocess and sweeps,
with faults, crashes and pauses, checked against the invariant once every record is acknowledged.

Each example uploads (good or corrupt files) to two keys that share an imageId and hands every
event, sometimes twice, to one of three Lambda instances running concurrently. A plan of actions
is carried out at random moments, from inside a run's requests or between them: re-uploads, the
source deleted (lifecycle expiry, or the app), the owner deleting the whole image through the
API's `delete_image` (in a thread, paused at one of its requests), late duplicates and DLQ
redrives of earlier events, the operator deleting the manifest and re-queueing the key as
`imgpipe reprocess` does, and `imgpipe sweep` running beside the renders. Runs meet 503s,
crashes (before a request, or after it took effect) and pauses between a check and the step that
depends on it, during which other instances finish whole records. What is not acknowledged is
redelivered, without chaos after three deliveries, until every message is. Then
`model_invariant` reads every listed variant back and checks the manifest against what the keys
hold, what was ever complete and what the owner deleted, before and after a final sweep.

One general model, weighted five ways: `EVERYTHING`, one mix per bug class of issue 19 and one
for deletion (issue 21), so each is reached in a reasonable number of examples. `make test` runs
a few of each (4 of everything, 2 of every other mix, about a second each); `make test-slow`
runs 40 of each; `IMGPIPE_PROPERTY_EXAMPLES=200` runs every test here 200 times instead.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fixtures import images
from tests.integration.conftest import Stack
from tests.integration.interleave import Instance
from tests.integration.model_deliveries import Chaos, Rates, Scheduler
from tests.integration.model_invariant import violations
from tests.integration.model_log import ManifestLog
from tests.integration.model_sweep import SweepRun
from tests.integration.model_world import World

pytestmark = pytest.mark.integration

INSTANCES = 3
EXAMPLE_TIMEOUT_S = 120
_examples = itertools.count()  # a fresh imageId per example: the stack lives for the whole test
_numbers: dict[tuple[str, int], int] = {}  # (test, seed) -> the how-manieth example of its test it was
Span = tuple[int, int]


@dataclass(frozen=True)
class Mix:
    """How much of each action one example plans, and the chaos its runs meet."""

    uploads: Span = (2, 3)
    corrupt: float = 0.15
    first_key: float = 2 / 3  # share of uploads and deletes on the .jpg key (else the .png one)
    deletes: Span = (0, 0)
    erasures: Span = (0, 0)  # the owner deletes the whole image (`DELETE /v1/images/{id}`)
    late: Span = (0, 1)  # late duplicates and redrives of earlier events
    reprocesses: Span = (0, 0)  # the operator deletes the manifest and re-queues the key
    sweeps: Span = (0, 0)
    duplicate: float = 0.25  # an upload's event delivered twice
    rates: Rates = field(default_factory=Rates)


EVERYTHING = Mix(deletes=(0, 1), erasures=(0, 1), late=(0, 2), reprocesses=(0, 1), sweeps=(0, 1),
                 rates=Rates(park_head=0.1, park_read=0.05, park_other=0.02))  # fmt: skip
# Item 1: a late event after the source is gone.
LIFECYCLE = Mix(uploads=(1, 2), corrupt=0.1, first_key=0.85, deletes=(1, 1), late=(1, 3), reprocesses=(0, 1),
                rates=Rates(act=0.03, park_head=0.05, park_read=0.05))  # fmt: skip
# Item 2: a corrupt upload's quarantine racing a newer upload processed elsewhere.
CORRUPT = Mix(uploads=(3, 4), corrupt=0.5, first_key=0.9, late=(0, 1), duplicate=0.1,
              rates=Rates(crash=0.08, act=0.01, park_head=0.5, park_read=0.02))  # fmt: skip
# Issue 21: the owner deleting the image while renders, duplicates, redrives and reprocesses race.
DELETION = Mix(uploads=(1, 3), corrupt=0.15, erasures=(1, 2), late=(1, 3), reprocesses=(0, 1),
               sweeps=(0, 1), duplicate=0.4,
               rates=Rates(crash=0.04, act=0.08, park_head=0.1, park_read=0.1, park_other=0.05))  # fmt: skip
# Item 3: a sweep while renders commit.
SWEEP = Mix(uploads=(1, 3), corrupt=0.1, first_key=0.85, sweeps=(1, 2), late=(0, 1),
            rates=Rates(act=0.1, park_head=0.05))  # fmt: skip


def _property(default_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    # No shrinking: a smaller seed is just another random run, and the runs' own timing decides
    # part of the interleaving, which hypothesis' data cannot follow.
    return settings(
        max_examples=int(os.environ.get("IMGPIPE_PROPERTY_EXAMPLES", str(default_examples))),
        deadline=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


class Harness:
    """The stack and the instances, shown short where hypothesis prints a failing example (not a
    dataclass: hypothesis would print every field)."""

    def __init__(self, stack: Stack, fleet: list[Instance]) -> None:
        self.stack, self.fleet = stack, fleet

    def __repr__(self) -> str:
        return f"Harness({len(self.fleet)} instances)"


@pytest.fixture
def harness(stack: Stack) -> Iterator[Harness]:
    # The worker's own retries (jittered, per step) are what is under test; the SDK's second
    # layer of backoff would only make each example slower.
    stack.monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    made = [Instance(stack) for _ in range(INSTANCES)]
    yield Harness(stack, made)
    for one in made:
        stack.loop.run_until_complete(one.close())


@_property(4)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_interleavings_keep_every_complete_manifest_true(harness: Harness, seed: int) -> None:
    _example(harness, seed, EVERYTHING, "everything")


@_property(2)
@given(seed=st.integers(0, 2**32 - 1))
def test_late_events_after_the_source_is_gone_keep_complete_results(harness: Harness, seed: int) -> None:
    _example(harness, seed, LIFECYCLE, "lifecycle (item 1)")


@_property(2)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_corrupt_upload_never_fails_a_newer_upload(harness: Harness, seed: int) -> None:
    _example(harness, seed, CORRUPT, "corrupt (item 2)")


@_property(2)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_sweep_beside_renders_keeps_every_listed_variant(harness: Harness, seed: int) -> None:
    _example(harness, seed, SWEEP, "sweep (item 3)")


@_property(2)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_deleted_image_never_comes_back(harness: Harness, seed: int) -> None:
    _example(harness, seed, DELETION, "deletion (issue 21)")


MIXES = {"everything": EVERYTHING, "lifecycle (item 1)": LIFECYCLE, "corrupt (item 2)": CORRUPT,
         "sweep (item 3)": SWEEP, "deletion (issue 21)": DELETION}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MIXES))
@_property(40)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_mix_holds_over_forty_examples(harness: Harness, name: str, seed: int) -> None:
    _example(harness, seed, MIXES[name], name)


def _example(harness: Harness, seed: int, mix: Mix, name: str) -> None:
    stack, fleet = harness.stack, harness.fleet
    # One seed drives every choice: hypothesis reports it, `random.Random(seed)` replays it.
    number = _number(name, seed)
    rng = random.Random(seed)
    for queue in (stack.topology.queue_url, stack.topology.dlq_url):
        stack.take_all(queue)  # nothing left over from an earlier example
    # Given a plan of uploads and actions around one imageId
    scheduler = Scheduler(fleet, seed)
    image_id = f"p{next(_examples)}"
    log = ManifestLog(image_id)
    world = World(stack, scheduler, rng, image_id, log, duplicate_rate=mix.duplicate)
    world.actions.extend(_plan(world, mix, rng))
    chaos = Chaos(scheduler, mix.rates, world.act)
    # When every action happens at its random moment and every event is handled until acknowledged
    try:
        stack.loop.run_until_complete(_hooked(fleet, log, chaos))
        stack.loop.run_until_complete(asyncio.wait_for(world.play(), EXAMPLE_TIMEOUT_S))
    except TimeoutError as exc:
        raise AssertionError(_report(name, number, seed, ["did not settle"], world, chaos)) from exc
    finally:
        for member in fleet:
            member.unhook()
    # Then the invariant holds
    problems = violations(stack, world)
    assert not problems, _report(name, number, seed, problems, world, chaos)


def _number(name: str, seed: int) -> int:
    # Hypothesis runs a failing example once more to report it: the report keeps its first number.
    if (name, seed) not in _numbers:
        _numbers[(name, seed)] = 1 + sum(1 for test, _ in _numbers if test == name)
    return _numbers[(name, seed)]


async def _hooked(fleet: list[Instance], log: ManifestLog, chaos: Chaos) -> None:
    for member in fleet:
        await log.register(member)  # first: chaos may crash a run in the same after-call
        await member.hook("s3", "provide-client-params.s3", chaos.params)
        for service in ("s3", "sqs"):
            await member.hook(service, f"before-send.{service}", chaos.before_send)
            await member.hook(service, f"after-call.{service}", chaos.after_call)


def _plan(world: World, mix: Mix, rng: random.Random) -> list[tuple[str, Callable[[], None]]]:
    """The first upload, then every other action in a random order."""
    uploads = [_upload(world, mix, rng) for _ in range(rng.randint(*mix.uploads))]
    rest = uploads[1:]
    for _ in range(rng.randint(*mix.deletes)):
        key = _key(world, mix, rng)
        rest.append((f"delete {_ext(key)}", functools.partial(world.delete_source, key)))
    for _ in range(rng.randint(*mix.late)):
        redrive = rng.random() < 0.5
        rest.append(
            ("late " + ("redrive" if redrive else "duplicate"), functools.partial(world.late, redrive))
        )
    rest += [("owner deletes the image", world.delete_image) for _ in range(rng.randint(*mix.erasures))]
    rest += [("delete manifest, reprocess", world.reprocess) for _ in range(rng.randint(*mix.reprocesses))]
    for _ in range(rng.randint(*mix.sweeps)):
        run = SweepRun(world.stack, world.scheduler, random.Random(rng.random()))
        pause = "listing processed/" if run.at_listing else f"request {run.pause_at}"
        rest.append((f"sweep (pauses at {pause})", functools.partial(world.sweep, run)))
    rng.shuffle(rest)
    return [uploads[0], *rest]


def _upload(world: World, mix: Mix, rng: random.Random) -> tuple[str, Callable[[], None]]:
    key, seed, good = _key(world, mix, rng), rng.randrange(1_000_000), rng.random() >= mix.corrupt
    body = images.photo_jpeg(rng.choice((160, 240, 320)), rng.choice((120, 200)), seed=seed)
    if not good:
        body = body[: len(body) // 2]  # truncated: no EOI, half the scan missing
    return (
        f"upload {'good' if good else 'corrupt'} {_ext(key)}",
        functools.partial(world.upload, key, body, good),
    )


def _key(world: World, mix: Mix, rng: random.Random) -> str:
    return world.keys[0] if rng.random() < mix.first_key else world.keys[1]


def _ext(key: str) -> str:
    return key.rsplit(".", 1)[1]


def _report(name: str, number: int, seed: int, problems: list[str], world: World, chaos: Chaos) -> str:
    sweeps = (
        ", ".join(
            f"{s.outcome} ({len(s.deleted)} deleted, paused {s.paused}, {s.requests} requests)"
            for s in world.sweeps
        )
        or "none"
    )
    deletions = ", ".join(f"{d.outcome} (deletedAt {d.last_deleted_at})" for d in world.deletions) or "none"
    return (
        f"{name} example #{number} (seed {seed}, image {world.image_id}):\n  "
        + "\n  ".join(problems)
        + f"\n  what happened: {' | '.join(world.story)}"
        + f"\n  chaos: {chaos.faults} 503s, {chaos.crashes} crashes, {chaos.pauses} pauses; sweeps: {sweeps}"
        + f"\n  deletions: {deletions}"
    )
