"""AWS clients, created once per process (per event loop) and reused across invocations.

aiohttp sessions belong to the loop that made them and can only be closed on it. Lambda keeps
one loop for the life of the container, so clients live that long and a long-running consumer
closes them with `close()` on that loop before exiting. A caller that runs each batch in a fresh
loop (plain `asyncio.run`) gets fresh clients instead of broken ones, and the old ones are closed
when their loop shuts down (`loop.shutdown_asyncgens()`, which `asyncio.run` calls), so none is
left for the garbage collector to report as an "Unclosed client session". Endpoints come only
from the standard `AWS_ENDPOINT_URL`, retries from `AWS_RETRY_MODE`/`AWS_MAX_ATTEMPTS` (standard
mode by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aioboto3
from aiobotocore.config import AioConfig

from worker.gate import KeyedLocks, PriorityGate

if TYPE_CHECKING:
    from botocore.config import _RetryDict


@dataclass
class Clients:
    """The clients and the in-flight bound of one event loop."""

    s3: Any
    sqs: Any
    sns: Any
    slots: PriorityGate
    images: KeyedLocks


class AwsClients:
    """Hands out `Clients` for the running loop, building them on first use in that loop."""

    def __init__(
        self,
        concurrency: int,
        connections: int,
        retries: _RetryDict | None = None,
        session: aioboto3.Session | None = None,
    ) -> None:
        self._session = session or aioboto3.Session()
        self._concurrency = concurrency
        # An explicit `retries` would override AWS_RETRY_MODE/AWS_MAX_ATTEMPTS, so it is passed only
        # when the environment sets neither.
        # Every S3 body goes with its SHA-256 as the checksum S3 verifies (`storage.put_object`).
        # Over https botocore then sends it unsigned; over http (a local emulator) it would
        # SHA-256 the whole body again to sign it, which nothing there checks.
        self._config = AioConfig(
            max_pool_connections=connections, retries=retries, s3={"payload_signing_enabled": False}
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: Clients | None = None
        self._stack: AsyncExitStack | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self._building: asyncio.Task[Clients] | None = None

    async def get(self) -> Clients:
        """Clients bound to the running event loop (built once, however many records ask at once)."""
        loop = asyncio.get_running_loop()
        if self._clients is not None and self._loop is loop:
            return self._clients
        if self._building is None or self._building.get_loop() is not loop or _failed(self._building):
            # Every record of the first batch asks at once; with credentials fetched over the
            # network (ECS, EC2) each would otherwise build its own clients, gate and locks.
            self._building = loop.create_task(self._build(loop))
        return await asyncio.shield(self._building)

    async def _build(self, loop: asyncio.AbstractEventLoop) -> Clients:
        stack = AsyncExitStack()
        try:
            s3, sqs, sns = [
                await stack.enter_async_context(self._session.client(name, config=self._config))
                for name in ("s3", "sqs", "sns")
            ]
        except BaseException:
            await stack.aclose()  # the clients already made must not outlive a failed build
            raise
        guard = self._closed_with_loop(stack)
        await anext(guard)  # now the loop knows it: shutting the loop down closes these clients
        self._clients = Clients(
            s3=s3, sqs=sqs, sns=sns, slots=PriorityGate(self._concurrency), images=KeyedLocks()
        )
        self._loop, self._stack, self._guard = loop, stack, guard
        return self._clients

    async def _closed_with_loop(self, stack: AsyncExitStack) -> AsyncGenerator[None, None]:
        # An async generator suspended here is finalised by its loop's shutdown_asyncgens(),
        # on that loop: the one place a loop's owner (asyncio.run) lets code run before closing.
        try:
            yield
        finally:
            await stack.aclose()
            if self._stack is stack:
                self._clients = self._stack = self._loop = self._guard = self._building = None

    async def close(self) -> None:
        """Close the clients; call it on the loop that built them (a consumer shutting down)."""
        guard, loop = self._guard, self._loop
        if guard is not None and loop is asyncio.get_running_loop():
            await guard.aclose()  # runs the guard's `finally`: closes the clients, forgets them
        # Clients of another loop can only be closed there; they stay registered with it.
        self._clients = self._stack = self._loop = self._guard = self._building = None


def _failed(task: asyncio.Task[Clients]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)
