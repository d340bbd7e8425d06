"""The fault proxy's request handling: an aiohttp application that forwards each request to the
moto server, or fails it as AWS would, as its `FaultPlan` draws.

It runs only inside the proxy's own process (`python -m deploy.local.faults`, which `FaultProxy`
starts); the plan, the error bodies and the process handle are in `deploy.local.faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TextIO

from deploy.local.faults import CONTROL, FaultPlan, error_body, service_of

if TYPE_CHECKING:
    from aiohttp import ClientSession, web

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}


def _reset(request: web.BaseRequest) -> None:
    """Close the client's connection with a TCP RST, as a dropped connection looks to a client."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _Proxy:
    """The aiohttp handlers: control endpoints, and every other request proxied or faulted."""

    def __init__(
        self, upstream: str, plan: FaultPlan, seed: int, log: TextIO | None = None, gate: int | None = None
    ) -> None:
        self.upstream, self.plan, self.log = upstream, plan, log
        # at most `gate` S3 requests upstream at once; the rest wait here, in arrival order (SQS's
        # and SNS's pass: a long poll would hold the gate for its whole wait)
        self.gate = asyncio.Semaphore(gate) if gate is not None else None
        self.rng = random.Random(seed)
        self.requests: Counter[str] = Counter()
        self.faults: Counter[tuple[str, str]] = Counter()
        self.receives: Counter[int] = Counter()  # deliveries by ApproximateReceiveCount
        self.session: ClientSession | None = None  # opened by the app's cleanup context

    async def handle(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if request.path.startswith(CONTROL):
            return await self.control(request)
        service = service_of(request.headers.get("Authorization"))
        self.requests[service or "other"] += 1
        kind = self.plan.draw(self.rng, service)
        body = await request.read()
        if self.log is not None:
            self.log.write(f"{request.method} {request.raw_path} {service} {kind or '-'}\n")
        if kind is None or kind == "latency":
            if kind is not None:
                self.faults[(str(service), kind)] += 1
                await asyncio.sleep(self.rng.uniform(0, self.plan.latency_s))
            return await self.forward(request, body, service)
        self.faults[(str(service), kind)] += 1
        if kind in ("slowdown", "error500"):
            status, text, content_type = error_body(str(service), kind, "X-Amz-Target" in request.headers)
            return web.Response(status=status, body=text, headers={"Content-Type": content_type})
        if kind == "timeout":  # applied upstream; the answer is held, then lost
            await self.forward(request, body, service)
            await asyncio.sleep(self.plan.stall_s)
        _reset(request)
        return web.Response(status=500)  # never sent: the connection is gone

    async def forward(self, request: web.Request, body: bytes, service: str | None) -> web.Response:
        from aiohttp import web
        from yarl import URL

        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        url = URL(self.upstream + request.raw_path, encoded=True)
        if self.session is None:
            raise RuntimeError("the proxy forwards only while its app runs (its cleanup context)")
        gate = self.gate if self.gate is not None and service == "s3" else contextlib.nullcontext()
        async with gate, self.session.request(request.method, url, headers=headers, data=body) as answer:
            payload = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        if request.headers.get("X-Amz-Target") == "AmazonSQS.ReceiveMessage" and answer.status == 200:
            self.observe_receive(payload)
        response = web.Response(status=answer.status, body=payload or None, headers=out)
        if request.method == "HEAD" and "Content-Length" in answer.headers:
            response.headers["Content-Length"] = answer.headers["Content-Length"]
        return response

    def observe_receive(self, payload: bytes) -> None:
        """Count the deliveries a ReceiveMessage answer carries, by receive count: how often the
        stack made SQS deliver a message again (kills, lost answers, reported failures)."""
        try:
            messages = json.loads(payload).get("Messages", [])
            counts = [int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages
                      if "ApproximateReceiveCount" in m.get("Attributes", {})]  # fmt: skip
        except (ValueError, AttributeError, TypeError):
            return
        self.receives.update(counts)

    async def control(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if request.method == "PUT":
            self.plan = FaultPlan(**await request.json())
        return web.json_response({
            "plan": self.plan.to_json(),
            "requests": dict(self.requests),
            "faults": {f"{service}:{kind}": n for (service, kind), n in sorted(self.faults.items())},
            "receive_counts": {str(count): n for count, n in sorted(self.receives.items())},
        })  # fmt: skip

    async def session_context(self, app: web.Application) -> AsyncIterator[None]:
        from aiohttp import ClientSession, ClientTimeout

        self.session = ClientSession(auto_decompress=False, timeout=ClientTimeout(total=None))
        yield
        await self.session.close()


def build_app(
    upstream: str, plan: FaultPlan, seed: int, log: TextIO | None = None, gate: int | None = None
) -> web.Application:
    """The aiohttp application of a proxy to `upstream` that follows `plan`; every request is
    written to `log` (a text file) as `METHOD path service fault`, when given; with `gate`, at
    most that many S3 requests are upstream at once."""
    from aiohttp import web

    proxy = _Proxy(upstream, plan, seed, log, gate)
    app = web.Application(client_max_size=1024**3)
    app.cleanup_ctx.append(proxy.session_context)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app
