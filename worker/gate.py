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
import threading
from collections import deque
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
    enough of the work ahead of it finishes. A share is handed back with `release`, from any
    thread: a render's share belongs to its thread, which a deadline cannot stop, so it is handed
    back when that thread returns, not when the coroutine waiting for it is cancelled. Holds no
    event loop of its own: a waiter is woken on its own loop.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.in_use = 0
        self._lock = threading.Lock()
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiters(self) -> int:
        """How many are waiting for their share."""
        return len(self._waiting)

    @asynccontextmanager
    async def reserve(self, need: int) -> AsyncIterator[None]:
        """Hold `need` bytes of the budget for the duration of the block."""
        await self.acquire(need)
        try:
            yield
        finally:
            self.release(need)

    async def acquire(self, need: int) -> None:
        """Take `need` bytes of the budget, once they fit and everyone before has had theirs."""
        if need > self.budget:
            raise ValueError(f"{need} bytes can never fit a budget of {self.budget}")
        with self._lock:
            if not self._waiting and self.in_use + need <= self.budget:
                self.in_use += need
                return
            admitted = asyncio.get_running_loop().create_future()
            self._waiting.append((need, admitted))
        try:
            await admitted
        except asyncio.CancelledError:
            self._withdraw(need, admitted)
            raise

    def release(self, need: int) -> None:
        """Hand `need` bytes back and admit whoever fits now; safe from any thread."""
        with self._lock:
            self.in_use -= need
            self._admit()

    def _withdraw(self, need: int, admitted: asyncio.Future[None]) -> None:
        with self._lock:
            if (need, admitted) in self._waiting:
                self._waiting.remove((need, admitted))
                self._admit()  # a big waiter leaving may let the smaller ones behind it in
                return
        self.release(need)  # admitted before the cancellation arrived: its share was counted

    def _admit(self) -> None:
        # Called with the lock held. The share is counted here; the waiter wakes on its own loop.
        while self._waiting and self.in_use + self._waiting[0][0] <= self.budget:
            need, admitted = self._waiting.popleft()
            self.in_use += need
            try:
                admitted.get_loop().call_soon_threadsafe(_wake, admitted)
            except RuntimeError:
                self.in_use -= need  # its loop is closed: nobody is left to use the share


def _wake(admitted: asyncio.Future[None]) -> None:
    # A waiter cancelled meanwhile hands its counted share back itself (`_withdraw`).
    if not admitted.done():
        admitted.set_result(None)


@functools.cache
def memory_gate(budget: int) -> MemoryGate:
    """The process's gate for `budget`: every record a worker process runs shares one."""
    return MemoryGate(budget)
