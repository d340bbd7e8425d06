"""Admission of records to work: at most N at once, biggest uploads first, one per image, and
no more decode memory at once than the worker's budget.

A batch finishes when its slowest record does. Starting the largest images first (longest
processing time first) leaves the small ones to fill the cores at the end, instead of one big
image running alone while the other cores idle. A record count alone does not bound memory: a
2 KB AVIF can need 1.8 GB to decode, so renders also wait until their header's estimate fits
(`MemoryGate`); an out-of-memory kill would return the whole batch, again and again.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class PriorityGate:
    """Like a semaphore, but waiters with a higher priority are admitted first."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._dispatch_pending = False

    @asynccontextmanager
    async def slot(self, priority: float) -> AsyncIterator[None]:
        """Hold one of the N slots for the duration of the block."""
        admitted = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-priority, next(self._order), admitted))
        self._schedule_dispatch()
        try:
            await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():
                self._release()  # admitted and cancelled in the same tick: give the slot back
            raise
        try:
            yield
        finally:
            self._release()

    def _schedule_dispatch(self) -> None:
        # Decide one loop turn later, so records started together are ranked together.
        if not self._dispatch_pending:
            self._dispatch_pending = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._dispatch_pending = False
        while self._free > 0 and self._waiting:
            _, _, admitted = heapq.heappop(self._waiting)
            if not admitted.done():
                self._free -= 1
                admitted.set_result(None)

    def _release(self) -> None:
        self._free += 1
        self._dispatch()


class KeyedLocks:
    """One lock per key, alive only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Exclusive access to `key` for the duration of the block."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class MemoryGate:
    """Admits work while the estimates of everything admitted fit the budget, in arrival order.

    Only what fits alone may wait (the caller refuses the rest), so every waiter is admitted once
    enough of the work ahead of it finishes. Holds no event loop of its own: each invocation's
    loop finds it empty.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.in_use = 0
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []

    @asynccontextmanager
    async def reserve(self, need: int) -> AsyncIterator[None]:
        """Hold `need` bytes of the budget for the duration of the block."""
        if need > self.budget:
            raise ValueError(f"{need} bytes can never fit a budget of {self.budget}")
        if self._waiting or self.in_use + need > self.budget:
            admitted = asyncio.get_running_loop().create_future()
            self._waiting.append((need, admitted))
            try:
                await admitted
            except asyncio.CancelledError:
                if admitted.done() and not admitted.cancelled():
                    self._release(need)  # admitted and cancelled in the same tick
                elif (need, admitted) in self._waiting:
                    self._waiting.remove((need, admitted))
                    self._admit()
                raise
        else:
            self.in_use += need
        try:
            yield
        finally:
            self._release(need)

    def _release(self, need: int) -> None:
        self.in_use -= need
        self._admit()

    def _admit(self) -> None:
        while self._waiting and self.in_use + self._waiting[0][0] <= self.budget:
            need, admitted = self._waiting.pop(0)
            if not admitted.done():
                self.in_use += need
                admitted.set_result(None)


@functools.cache
def memory_gate(budget: int) -> MemoryGate:
    """The process's gate for `budget`: every record a worker process runs shares one."""
    return MemoryGate(budget)
