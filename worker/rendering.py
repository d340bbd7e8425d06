"""Rendering one upload off the event loop, once the worker's memory budget admits it.

The header alone says how much memory the decode needs; the render waits until that fits beside
what other records hold (`worker.gate`), or is refused if it never can. The render and each
variant's sha256 run in the thread pool; the memory belongs to the render thread until it
returns, whoever stops waiting for it (docs/consistency.md, "The memory budget outlives the wait").
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import ImageTooLarge
from shared.variants import VariantSpec
from worker import engine
from worker.gate import memory_gate
from worker.job import Job


@dataclass(frozen=True)
class Rendered:
    """The engine's result and each variant's sha256, both computed off the event loop."""

    result: engine.RenderResult
    digests: tuple[str, ...]


def _render_and_digest(
    upload: engine.Probed, specs: tuple[VariantSpec, ...], should_stop: Callable[[], bool]
) -> Rendered:
    result = engine.render(upload, specs, should_stop=should_stop)
    return Rendered(result, tuple(hashlib.sha256(v.data).hexdigest() for v in result.variants))


async def admitted_render(data: bytes, job: Job) -> Rendered:
    """Render every variant of `data` once the memory budget admits its decode."""
    # The header alone says how much memory the decode needs (milliseconds, on the loop); the
    # render waits until that fits beside what other records hold, or is refused if it never can.
    settings = job.settings
    upload = engine.open_upload(data, settings.limits)
    need = engine.estimate_memory(upload.info, settings.variants)
    budget = settings.memory_budget_bytes
    if need > budget:
        raise ImageTooLarge(
            f"decoding needs about {need / 2**20:,.0f} MiB, over the worker's memory budget of"
            f" {budget / 2**20:,.0f} MiB (IMGPIPE_MEMORY_BUDGET_MB, else the function's memory)"
        )
    job.progress.at("waiting for memory")
    gate = memory_gate(budget)
    await gate.acquire(need)
    job.progress.at("rendering")
    return await _render(upload, job, functools.partial(gate.release, need))


async def _render(upload: engine.Probed, job: Job, release: Callable[[], None]) -> Rendered:
    given_up = threading.Event()
    work = functools.partial(_render_and_digest, upload, job.settings.variants, given_up.is_set)
    try:
        running = job.executor.submit(work)
    except BaseException:
        release()
        raise
    # The memory is the render thread's until it returns, whoever stops waiting for it: a
    # deadline cancels this coroutine, never the thread, which still holds its decode buffers.
    running.add_done_callback(lambda _: release())
    try:
        return await asyncio.wrap_future(running)
    except asyncio.CancelledError:
        # Cut off at the deadline: a render still queued never starts, one running stops at its
        # next variant instead of holding a core (and memory) into the next invocation.
        given_up.set()
        raise
