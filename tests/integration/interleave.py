"""Concurrent Lambda instances in one test, interleaved by hooks, and the invariant they must keep.

An `Instance` is what a second Lambda container holds: a runtime of its own (aiobotocore clients,
imageId locks, thread pool) on the test's event loop. Its records go through the real record
handler, so the in-process imageId lock never spans two instances, exactly as in AWS.

Hooks are async `before-send`/`after-call` handlers on an instance's clients: at a chosen request
they can run another instance's whole record first, change S3, sleep past the deadline, refuse the
request, or crash the run (`Crash`, a BaseException nothing in the worker catches, as when a
container dies).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from deploy.local.esm import LocalContext
from shared.manifest import Manifest
from tests.integration.conftest import SLOW_DOWN, Stack, error_response
from worker.records import handle_record
from worker.runtime import Runtime, build_runtime


class Crash(BaseException):
    """The run dies here: no except clause in the worker sees it, like a killed container."""


@dataclass(eq=False)  # hashable by identity: botocore keeps handlers in dicts
class Before:
    """An async before-send hook: at the `nth` request matching, await `action` first.

    `action` may return a (status, body) pair to answer the request with instead of sending it.
    """

    match: Callable[[str], bool]
    action: Callable[[], Awaitable[tuple[int, bytes] | None]]
    nth: int = 1
    repeat: bool = False  # fire at the nth matching request and every one after it
    calls: int = 0
    fired: bool = False

    async def __call__(self, request: Any, **_: Any) -> Any:
        if not self.match(unquote(request.url)):
            return None
        self.calls += 1
        if self.calls < self.nth or (self.calls > self.nth and not self.repeat):
            return None
        self.fired = True
        answer = await self.action()
        return error_response(request.url, *answer) if answer is not None else None


@dataclass
class Instance:
    """One more Lambda instance: its own runtime, hooks on its own clients."""

    stack: Stack
    runtime: Runtime = field(default_factory=build_runtime)
    _hooks: list[tuple[Any, str, Any]] = field(default_factory=list)

    async def clients(self) -> Any:
        """The instance's clients, built on the test's loop."""
        return await self.runtime.aws.get()

    async def hook(self, service: str, event: str, handler: Any) -> Any:
        """Register `handler` on this instance's `service` client for `event` (e.g. before-send.s3)."""
        client = getattr(await self.clients(), service)
        client.meta.events.register(event, handler)
        self._hooks.append((client, event, handler))
        return handler

    async def run(self, messages: list[dict[str, Any]], timeout_s: float = 60) -> list[str]:
        """Handle `messages` as one invocation would, record by record; the messageIds left for retry."""
        records = self.stack.event(messages)["Records"]
        context = LocalContext(timeout_s)
        # LocalContext has what the worker reads of a LambdaContext (its remaining time), not its class
        handled = (handle_record(SQSRecord(r), context, self.runtime) for r in records)  # type: ignore[arg-type]
        results = await asyncio.gather(*handled, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # a Crash takes the whole invocation down
        return [r["messageId"] for r, res in zip(records, results, strict=True) if isinstance(res, Exception)]

    def unhook(self) -> None:
        """Remove every hook registered with `hook`."""
        for client, event, handler in self._hooks:
            client.meta.events.unregister(event, handler)
        self._hooks.clear()

    async def close(self) -> None:
        """Unhook, close the clients and stop the pool."""
        self.unhook()
        await self.runtime.aws.close()
        self.runtime.executor.shutdown(wait=True)


async def slow_down() -> tuple[int, bytes]:
    """Refuse the request with 503 SlowDown."""
    return SLOW_DOWN


async def crash() -> tuple[int, bytes]:
    """Kill the run at this request."""
    raise Crash


def manifests(stack: Stack, image_id: str = "") -> dict[str, Manifest]:
    """Every manifest in the output bucket (or that of `image_id`), by imageId."""
    found = {}
    for key in stack.output_keys(f"metadata/{image_id}/" if image_id else "metadata/"):
        manifest = Manifest.model_validate_json(stack.read_output(key))
        found[manifest.image_id] = manifest
    return found


def current_etag(stack: Stack, key: str) -> str | None:
    """The ETag the upload key has now, bare; None when deleted."""
    try:
        head = stack.s3.head_object(Bucket=stack.topology.input_bucket, Key=key)
    except stack.s3.exceptions.ClientError:
        return None
    return str(head["ETag"]).strip('"')


def invariant_violations(stack: Stack, image_id: str = "") -> list[str]:
    """What breaks the invariant: complete manifests (every one, or `image_id`'s) whose variants
    are not their listed bytes, or that do not describe their key's current upload. Reads every
    listed variant back."""
    problems = []
    for name, manifest in manifests(stack, image_id).items():
        if manifest.status != "complete":
            continue
        now = current_etag(stack, manifest.source.key)
        if now != manifest.source.etag:
            problems.append(f"{name}: manifest is for {manifest.source.etag}, key holds {now}")
        for variant in manifest.variants:
            try:
                data = stack.read_output(variant.key)
            except stack.s3.exceptions.NoSuchKey:
                problems.append(f"{name}: {variant.key} is missing")
                continue
            if hashlib.sha256(data).hexdigest() != variant.sha256:
                problems.append(f"{name}: {variant.key} does not hash to its listed sha256")
    return problems


def dlq_reasons(stack: Stack) -> list[tuple[str, str]]:
    """(object key, error type) of every DLQ message, taken out of the queue."""
    return [
        (
            m["MessageAttributes"].get("imgpipe-object-key", {}).get("StringValue", ""),
            m["MessageAttributes"]["imgpipe-error-type"]["StringValue"],
        )
        for m in stack.dlq_messages()
    ]


def body_key(message: Mapping[str, Any]) -> str:
    """The decoded object key of a raw S3 event message."""
    from urllib.parse import unquote_plus

    return unquote_plus(json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"])
