"""A render cut off by the deadline keeps its share of the memory budget until its thread returns.

The deadline cancels the wait for a render, never the render thread: it stops only at its next
variant and holds its decode buffers until then. The budget it was admitted against must stay
taken until that thread has actually returned, or the next invocation in the container is
admitted against memory still in use.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.limits import Limits
from shared.variants import DEFAULT_VARIANTS
from tests.fixtures import images
from tests.integration.conftest import Stack
from tests.integration.interleave import Instance
from tests.integration.staging import instances, run
from worker import engine
from worker.gate import memory_gate

pytestmark = pytest.mark.integration

BUDGET_MB = 64


@pytest.fixture
def instance(stack: Stack) -> Iterator[Callable[[], Instance]]:
    yield from instances(stack)


class HeldRender:
    """`engine.render`, but the first call waits in its thread until the test lets it go on."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.release = threading.Event()
        self.log: list[str] = []
        self._calls = itertools.count(1)

    def __call__(self, upload: Any, specs: Any, limits: Any = None, **options: Any) -> Any:
        number = next(self._calls)
        self.log.append(f"render {number} starts")
        try:
            if number == 1:
                assert self.release.wait(timeout=60), "the test never released the first render"
            return self.real(upload, specs, limits, **options)
        finally:
            self.log.append(f"render {number} returns")


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a state the code under test reaches by itself (bounded, so a hang fails)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 30
    while not condition():
        assert loop.time() < give_up, f"never reached: {what}"
        await asyncio.sleep(0.005)


def test_a_render_cut_off_by_the_deadline_holds_its_memory_until_its_thread_returns(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a 64 MiB budget that fits one of these renders but not two
    photo = images.photo_jpeg(640, 480, seed=51)
    need = engine.estimate_memory(engine.open_upload(photo, Limits()).info, DEFAULT_VARIANTS)
    assert need <= BUDGET_MB * 2**20 < 2 * need
    stack.configure(IMGPIPE_MEMORY_BUDGET_MB=str(BUDGET_MB))
    gate = memory_gate(BUDGET_MB * 2**20)
    assert gate.in_use == 0
    got = stack.upload_and_receive([("uploads/u1/held.jpg", photo), ("uploads/u1/next.jpg", photo)])
    (_, first), (etag, second) = got["uploads/u1/held.jpg"], got["uploads/u1/next.jpg"]
    held = HeldRender(engine.render)
    stack.monkeypatch.setattr(engine, "render", held)
    a = instance()

    async def cut_off_while_rendering() -> None:
        # The deadline is an asyncio timeout: it cancels the record's task. Cancelling it here,
        # once the render thread is under way, is that deadline at a moment the test chooses.
        invocation = asyncio.ensure_future(a.run([first]))
        await _until(lambda: held.log == ["render 1 starts"], "the first render starts")
        invocation.cancel()
        with pytest.raises(asyncio.CancelledError):
            await invocation

    async def next_invocation() -> list[str]:
        pending = asyncio.ensure_future(a.run([second]))
        await _until(lambda: gate.waiters > 0 or len(held.log) > 1, "the next render waits or starts")
        held.release.set()
        return await pending

    try:
        # When the deadline cuts off a render whose thread is still decoding
        run(stack, cut_off_while_rendering())
        # Then its share of the budget stays taken while that thread runs
        assert gate.in_use == need
        # And the next invocation's render waits until that thread has returned
        assert run(stack, next_invocation()) == []
    finally:
        held.release.set()
    assert held.log == ["render 1 starts", "render 1 returns", "render 2 starts", "render 2 returns"]
    assert gate.in_use == 0
    stack.assert_consistent("next", "u1", etag)
