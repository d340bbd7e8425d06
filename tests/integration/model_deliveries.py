"""SQS deliveries to several Lambda instances in one test: redelivery, chaos, and pauses.

The property test's scheduler. Each delivery hands one message to one instance (`Instance.run`);
what is not acknowledged (reported for retry, or the run crashed) comes again, as SQS would
redeliver it, until every message is acknowledged or `max_attempts` is spent. Deliveries run
concurrently on the test's event loop; `Chaos`, a hook on every instance's clients, delays,
refuses (503), crashes or pauses them at random requests.

A pause is what makes the races of a check-then-act window reachable: a paused run waits,
between two of its requests, until every other delivery has finished or is itself stalled, so
whole records of other instances (and the operator's actions it fires) happen inside the window.
Every S3 request of a record is made under its instance's imageId lock, and all messages of one
example share one imageId: every other delivery on a paused run's instance is blocked behind it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from shared.keys import PROCESSED_PREFIX
from tests.integration.conftest import SLOW_DOWN, error_response
from tests.integration.interleave import Crash, Instance
from worker.orphans.plan import unit_of

_KEY = "imgpipe-test-key"
CURRENT: ContextVar[Delivery | None] = ContextVar("delivery", default=None)


@dataclass(eq=False)
class Delivery:
    """One message handed to one instance once; `rng` draws this delivery's chaos."""

    message: dict[str, Any]
    instance: Instance
    attempt: int
    rng: random.Random
    parked: bool = False
    renders: set[str] = field(default_factory=set)  # the renderIds of the variants it wrote
    faulted_delete: bool = False  # a DeleteObjects of it was refused (its cleanup may have failed)


def retried(message: dict[str, Any]) -> dict[str, Any]:
    """The same SQS message received again: same MessageId, a new receipt, one more receive."""
    attributes = dict(message.get("Attributes", {}))
    attributes["ApproximateReceiveCount"] = str(int(attributes.get("ApproximateReceiveCount", "1")) + 1)
    return {**message, "ReceiptHandle": uuid.uuid4().hex, "Attributes": attributes}


@dataclass(eq=False)
class Scheduler:
    """Runs deliveries until each message is acknowledged; knows who is paused."""

    fleet: list[Instance]
    seed: int
    chaos_attempts: int = 3  # later deliveries of a message run without faults, crashes or pauses
    max_attempts: int = 10
    running: list[Delivery] = field(default_factory=list)
    unacknowledged: list[dict[str, Any]] = field(default_factory=list)
    # Renders a run may leave behind by design: its delivery was not acknowledged (it crashed
    # or was left for retry), or its cleanup met a refused DeleteObjects.
    abandoned: set[str] = field(default_factory=set)
    _spawned: itertools.count[int] = field(default_factory=itertools.count)
    _rng: random.Random = field(init=False)
    _quiet: list[asyncio.Future[None]] = field(default_factory=list)
    _idle: list[asyncio.Future[None]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:instances")

    def spawn(self, message: dict[str, Any], attempt: int = 1) -> None:
        """Deliver `message` to a random instance, now."""
        number = next(self._spawned)
        delivery = Delivery(
            message, self._rng.choice(self.fleet), attempt, random.Random(f"{self.seed}:{number}")
        )
        self.running.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        CURRENT.set(delivery)
        try:
            acknowledged = not await delivery.instance.run([delivery.message])
        except Crash:
            acknowledged = False
        finally:
            self.running.remove(delivery)
        if not acknowledged or delivery.faulted_delete:
            self.abandoned |= delivery.renders
        if not acknowledged:
            if delivery.attempt >= self.max_attempts:
                self.unacknowledged.append(delivery.message)
            else:
                self.spawn(retried(delivery.message), delivery.attempt + 1)
        self._wake()

    async def park(self, delivery: Delivery) -> None:
        """Hold `delivery` until every other one has finished or is stalled."""
        delivery.parked = True
        try:
            await self.quiet()
        finally:
            delivery.parked = False

    async def quiet(self) -> None:
        """Return once no delivery can make progress without a paused one going on."""
        waiter = asyncio.get_running_loop().create_future()
        self._quiet.append(waiter)
        self._wake()
        await waiter

    async def idle(self) -> None:
        """Return once no delivery is running."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        self._wake()
        await waiter

    def _stalled(self) -> bool:
        paused = {id(d.instance) for d in self.running if d.parked}
        return all(d.parked or id(d.instance) in paused for d in self.running)

    def _wake(self) -> None:
        for waiters, ready in ((self._quiet, self._stalled()), (self._idle, not self.running)):
            if ready and waiters:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
                waiters.clear()


@dataclass(frozen=True)
class Rates:
    """Per-request chances of each kind of chaos (while a message is within its chaos attempts)."""

    fault: float = 0.15  # 503 SlowDown instead of sending
    crash: float = 0.05  # the run dies (before the request is sent, or after its answer)
    act: float = 0.05  # the next planned action (upload, delete, sweep, ...) happens now
    park_head: float = 0.0  # pause after a HEAD of the upload ("is it still current?")
    park_read: float = 0.0  # pause after a GET of the manifest (what a commit is conditioned on)
    park_other: float = 0.0  # pause after any other request


def _park_rate(rates: Rates, operation: str, key: str) -> float:
    if operation == "HeadObject":
        return rates.park_head
    if operation == "GetObject" and key.endswith("/processing-info.json"):
        return rates.park_read
    return rates.park_other


@dataclass(eq=False)  # hashable by identity: botocore keeps handlers in dicts
class Chaos:
    """The hook on every instance's clients: reorders, refuses, crashes, pauses, acts."""

    scheduler: Scheduler
    rates: Rates
    act: Callable[[], None]  # fires the next planned action, if any
    faults: int = 0
    crashes: int = 0
    pauses: int = 0

    async def before_send(self, request: Any, **kwargs: Any) -> Any:
        delivery = CURRENT.get()
        if delivery is None:
            return None
        await asyncio.sleep(delivery.rng.uniform(0, 0.01))  # reorders concurrent runs at every request
        if delivery.attempt > self.scheduler.chaos_attempts:
            return None
        rng, rates = delivery.rng, self.rates
        if rng.random() < rates.act:
            self.act()
        draw = rng.random()
        if draw < rates.crash / 2:
            self.crashes += 1
            raise Crash
        if draw < rates.crash / 2 + rates.fault:
            self.faults += 1
            delivery.faulted_delete |= str(kwargs.get("event_name", "")).endswith(".DeleteObjects")
            return error_response(request.url, *SLOW_DOWN)
        return None

    def params(self, params: dict[str, Any], context: dict[str, Any], model: Any = None, **_: Any) -> None:
        context[_KEY] = str(params.get("Key", ""))  # for after_call, which sees no request
        delivery = CURRENT.get()
        if delivery is not None and model is not None and model.name == "PutObject":
            unit = unit_of(context[_KEY]) if context[_KEY].startswith(PROCESSED_PREFIX) else ()
            if len(unit) == 3:
                delivery.renders.add(unit[2])

    async def after_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        delivery = CURRENT.get()
        if delivery is None or delivery.attempt > self.scheduler.chaos_attempts:
            return
        rng, rates = delivery.rng, self.rates
        if rng.random() < _park_rate(rates, model.name, context.get(_KEY, "")):
            self.pauses += 1
            self.act()  # the world moves on while this run is paused
            await self.scheduler.park(delivery)
        if rng.random() < rates.crash / 2:
            self.crashes += 1
            raise Crash  # after the request took effect: its answer dies with the run
