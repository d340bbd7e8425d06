"""The admission gates: bounded like a semaphore, biggest first; memory shares handed back from any thread."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from worker.gate import KeyedLocks, MemoryGate, PriorityGate

pytestmark = pytest.mark.unit


async def _run(
    gate: PriorityGate, priority: float, log: list[float], active: list[int], peak: list[int]
) -> None:
    async with gate.slot(priority):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        log.append(priority)
        await asyncio.sleep(0.01)
        active[0] -= 1


async def test_records_started_together_are_admitted_biggest_first_and_bounded() -> None:
    # Given a gate of 2 and six records arriving in no particular order of size
    log: list[float] = []
    gate, active, peak = PriorityGate(2), [0], [0]
    sizes = [3.0, 9.0, 1.0, 7.0, 5.0, 2.0]
    # When they all start at once
    await asyncio.gather(*(_run(gate, size, log, active, peak) for size in sizes))
    # Then the largest go first and never more than two run together
    assert log == sorted(sizes, reverse=True)
    assert peak[0] == 2


async def test_a_cancelled_waiter_does_not_leak_its_slot() -> None:
    gate = PriorityGate(1)
    holder_release = asyncio.Event()

    async def holder() -> None:
        async with gate.slot(10):
            await holder_release.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(_run(gate, 5, [], [0], [0]))
    await asyncio.sleep(0.01)
    waiter.cancel()
    holder_release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # The slot is free again: a newcomer gets in at once
    await asyncio.wait_for(_run(gate, 1, [], [0], [0]), timeout=1)


async def test_keyed_locks_serialise_one_key_and_leave_others_free() -> None:
    # Given two holders of key "a" and one of key "b"
    locks, log = KeyedLocks(), []

    async def hold(key: str, name: str) -> None:
        async with locks.hold(key):
            log.append(f"{name} in")
            await asyncio.sleep(0.01)
            log.append(f"{name} out")

    await asyncio.gather(hold("a", "a1"), hold("a", "a2"), hold("b", "b1"))
    # Then the two "a" holders never overlap, "b" ran alongside, and no lock is left behind
    assert log.index("a1 out") < log.index("a2 in")
    assert log.index("b1 in") < log.index("a1 out")
    assert locks._locks == {}


async def test_a_share_handed_back_from_another_thread_admits_the_next_waiter() -> None:
    # Given a gate whose budget is taken by a render running in a thread
    gate = MemoryGate(100)
    await gate.acquire(80)
    waiter = asyncio.ensure_future(gate.acquire(50))
    await asyncio.sleep(0)
    assert gate.waiters == 1 and not waiter.done()
    # When that thread returns and hands the share back from its own thread
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(gate.release, 80).result()
    # Then the waiter is admitted on its own loop, its share counted
    await asyncio.wait_for(waiter, timeout=5)
    assert (gate.in_use, gate.waiters) == (50, 0)


async def test_a_waiter_cancelled_after_it_was_admitted_hands_its_share_back() -> None:
    # Given a waiter admitted by a release whose wake-up has not run yet
    gate = MemoryGate(100)
    await gate.acquire(80)
    waiter = asyncio.ensure_future(gate.acquire(50))
    await asyncio.sleep(0)
    gate.release(80)
    assert gate.in_use == 50
    # When it is cancelled before it runs again
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # Then its share is free again
    assert (gate.in_use, gate.waiters) == (0, 0)
