"""The integration harness: one moto server per session, a freshly provisioned topology per test.

Every test talks to the worker exactly as Lambda does: objects are put into the input bucket, moto
delivers S3 -> SNS -> SQS, the test receives the messages and hands the event built by
`deploy.local.esm.lambda_event` to `worker.handler.handler` with a `LocalContext`.

`LAMBDA_TASK_ROOT` is set, so powertools runs every invocation on the current event loop, as in a
Lambda container; the harness owns that loop (one per test), so fault-injection hooks can be
registered on the very aiobotocore clients the worker will use.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote

import boto3
import pytest
from aiobotocore.awsrequest import AioAWSResponse

from deploy.local.esm import LocalContext, lambda_event
from deploy.local.motoserver import MotoServer
from deploy.local.topology import Topology, provision
from shared.keys import manifest_key
from worker.runtime import get_runtime

REGION = "us-east-1"
PREFIX = "it"
VARIANT_NAMES = ("original", "large", "medium", "small", "thumbnail")
DEFAULT_CACHE_CONTROL = "public, max-age=31536000, immutable"

SLOW_DOWN = (
    503,
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>IT0001</RequestId></Error>",
)
ACCESS_DENIED = (
    403,
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message><RequestId>IT0002</RequestId></Error>",
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sns import SNSClient
    from types_boto3_sqs import SQSClient


# --------------------------------------------------------------------------- fake HTTP responses


class _RawBody:
    """The part of an aiohttp response aiobotocore reads: an async `read()`."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def error_response(url: str, status: int, body: bytes) -> AioAWSResponse:
    """An S3 XML error response that a before-send hook returns instead of sending the request."""
    headers = {
        "content-type": "application/xml",
        "content-length": str(len(body)),
        "x-amz-request-id": "IT0000",
    }
    return AioAWSResponse(url, status, headers, _RawBody(body))


@dataclass(eq=False)  # hashable by identity: botocore keeps handlers in dicts
class Fault:
    """A before-send hook on one S3 operation: counts matching requests and fails some of them.

    `fail(n)` -> True means the n-th matching request (1-based) gets `response` instead of going out.
    """

    operation: str
    match: Callable[[str], bool]
    fail: Callable[[int], bool]
    response: tuple[int, bytes] = SLOW_DOWN
    calls: int = 0
    failed: int = 0
    urls: list[str] = field(default_factory=list)
    enabled: bool = True

    def __call__(self, request: Any, **_: Any) -> AioAWSResponse | None:
        url = unquote(request.url)
        if not self.enabled or not self.match(url):
            return None
        self.calls += 1
        self.urls.append(url)
        if self.fail(self.calls):
            self.failed += 1
            status, body = self.response
            return error_response(request.url, status, body)
        return None


# --------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """A provisioned topology plus the helpers tests drive it with."""

    server: MotoServer
    topology: Topology
    session: boto3.Session
    monkeypatch: pytest.MonkeyPatch
    loop: asyncio.AbstractEventLoop
    s3: S3Client
    sqs: SQSClient
    sns: SNSClient
    _hooks: list[tuple[Any, str, Fault]] = field(default_factory=list)

    # ----- configuration

    def configure(self, **env: str | None) -> None:
        """Change IMGPIPE_*/AWS_* variables and rebuild the worker's runtime, as a new deploy would."""
        for name, value in env.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)
        self.drop_runtime()

    def drop_runtime(self) -> None:
        """Close the cached runtime's clients and pool, then forget it."""
        if get_runtime.cache_info().currsize:
            runtime = get_runtime()
            if not self.loop.is_closed():
                self.loop.run_until_complete(runtime.aws.close())
            runtime.executor.shutdown(wait=True)
        get_runtime.cache_clear()
        self._hooks.clear()

    def clients(self) -> Any:
        """The worker's own aiobotocore clients for the loop powertools will run the handler on."""
        return self.loop.run_until_complete(get_runtime().aws.get())

    def inject(self, fault: Fault) -> Fault:
        """Register `fault` on the worker's S3 client for `fault.operation`."""
        s3 = self.clients().s3
        event = f"before-send.s3.{fault.operation}"
        s3.meta.events.register(event, fault)
        self._hooks.append((s3, event, fault))
        return fault

    def remove(self, fault: Fault) -> None:
        """Unregister a fault registered with `inject`."""
        for s3, event, registered in list(self._hooks):
            if registered is fault:
                s3.meta.events.unregister(event, fault)
                self._hooks.remove((s3, event, registered))

    # ----- input side

    def upload(self, key: str, body: bytes) -> str:
        """Put an object into the input bucket; its ETag, bare."""
        response = self.s3.put_object(Bucket=self.topology.input_bucket, Key=key, Body=body)
        return str(response["ETag"]).strip('"')

    def drain(
        self, expected: int, keep_test_event: bool = False, timeout_s: float = 15
    ) -> list[dict[str, Any]]:
        """Receive exactly `expected` messages from the work queue (s3:TestEvent not counted)."""
        messages: list[dict[str, Any]] = []
        counted = 0
        deadline = time.monotonic() + timeout_s
        while counted < expected and time.monotonic() < deadline:
            batch = self.sqs.receive_message(
                QueueUrl=self.topology.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            for message in batch:
                if is_test_event(message):
                    if keep_test_event:
                        messages.append(dict(message))
                    continue
                messages.append(dict(message))
                counted += 1
        assert counted == expected, f"only {counted} of {expected} upload events reached the queue"
        return messages

    def test_event_message(self, timeout_s: float = 10) -> dict[str, Any]:
        """The s3:TestEvent moto sent when the bucket notification was configured (call first)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batch = self.sqs.receive_message(
                QueueUrl=self.topology.queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if batch:
                assert is_test_event(batch[0]), batch[0]["Body"]
                return dict(batch[0])
        raise AssertionError("no s3:TestEvent reached the queue")

    def upload_and_receive(self, items: list[tuple[str, bytes]]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Upload each (key, body) and return {key: (etag, its queue message)}."""
        etags = {key: self.upload(key, body) for key, body in items}
        messages = self.drain(len(items))
        by_key = {object_key(message): message for message in messages}
        assert set(by_key) == set(etags), (sorted(by_key), sorted(etags))
        return {key: (etags[key], by_key[key]) for key in etags}

    # ----- the worker

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The Lambda SQS event for these ReceiveMessage results."""
        return lambda_event(messages, self.topology.queue_arn, REGION)

    def invoke(self, event: dict[str, Any], timeout_s: float = 60) -> dict[str, Any]:
        """Call the Lambda handler as the event source mapping would."""
        from worker.handler import handler  # imported late: it builds the runtime at import

        return dict(handler(event, LocalContext(timeout_s)))

    def process(self, messages: list[dict[str, Any]], timeout_s: float = 60) -> dict[str, Any]:
        """`invoke(event(messages))`."""
        return self.invoke(self.event(messages), timeout_s)

    # ----- output side

    def output_keys(self, prefix: str = "") -> list[str]:
        """Every key in the output bucket under `prefix`, sorted."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.topology.output_bucket, Prefix=prefix
        )
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read_output(self, key: str) -> bytes:
        """The bytes of one output object."""
        return bytes(self.s3.get_object(Bucket=self.topology.output_bucket, Key=key)["Body"].read())

    def head_output(self, key: str) -> dict[str, Any]:
        """HeadObject of one output object."""
        return dict(self.s3.head_object(Bucket=self.topology.output_bucket, Key=key))

    def manifest(self, image_id: str) -> dict[str, Any] | None:
        """The parsed manifest of `image_id`, or None when there is none."""
        try:
            raw = self.read_output(manifest_key(image_id))
        except self.s3.exceptions.NoSuchKey:
            return None
        return dict(json.loads(raw))

    def dlq_messages(self) -> list[dict[str, Any]]:
        """Everything in the DLQ right now (received and deleted)."""
        return self.take_all(self.topology.dlq_url)

    def take_all(self, queue_url: str, wait_s: int = 0) -> list[dict[str, Any]]:
        """Receive and delete every message in a queue."""
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait_s if not found else 0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return found
            found.extend(dict(message) for message in batch)
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )

    def assert_consistent(
        self, image_id: str, user_id: str, etag: str, orphans_allowed: bool = False
    ) -> dict[str, Any]:
        """A complete manifest for `etag` whose variants are exactly the stored objects, byte for byte.

        `orphans_allowed`: other renders may be left under the image's prefix (a run that died
        after its writes leaves one no manifest lists; `imgpipe` sweeps them).
        """
        manifest = self.manifest(image_id)
        assert manifest is not None, f"no manifest for {image_id}"
        assert manifest["status"] == "complete", manifest
        assert manifest["source"]["etag"] == etag
        names = tuple(v["name"] for v in manifest["variants"])
        assert sorted(names) == sorted(VARIANT_NAMES)
        keys = [v["key"] for v in manifest["variants"]]
        render = manifest["pipeline"]["renderId"]
        assert keys == [
            f"processed/{user_id}/{image_id}/{render}/{v['name']}.jpg" for v in manifest["variants"]
        ]
        stored = self.output_keys(f"processed/{user_id}/{image_id}/")
        if orphans_allowed:
            assert set(keys) <= set(stored)
        else:  # only the committed render is left: superseded and losing renders were removed
            assert stored == sorted(keys)
        for variant in manifest["variants"]:
            data = self.read_output(variant["key"])
            assert hashlib.sha256(data).hexdigest() == variant["sha256"], variant["name"]
            assert len(data) == variant["bytes"], variant["name"]
        return manifest


# --------------------------------------------------------------------------- message helpers


def is_test_event(message: Mapping[str, Any]) -> bool:
    """True for moto's (and S3's) s3:TestEvent."""
    return bool(json.loads(message["Body"]).get("Event") == "s3:TestEvent")


def object_key(message: dict[str, Any]) -> str:
    """The decoded key of the single S3 record in a raw-delivered message."""
    from urllib.parse import unquote_plus

    records = json.loads(message["Body"])["Records"]
    assert len(records) == 1
    return unquote_plus(records[0]["s3"]["object"]["key"])


def with_body(message: dict[str, Any], body: str) -> dict[str, Any]:
    """A copy of `message` with another body (and a matching MD5, as SQS would compute)."""
    return {**message, "Body": body, "MD5OfBody": hashlib.md5(body.encode()).hexdigest()}


def redelivered(message: dict[str, Any]) -> dict[str, Any]:
    """The same body as a different SQS message (an SNS duplicate or a DLQ redrive)."""
    return {
        **message,
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": uuid.uuid4().hex,
        "Attributes": {**message.get("Attributes", {}), "ApproximateReceiveCount": "1"},
    }


def s3_event_body(bucket: str, key: str, etag: str | None, size: int = 1) -> str:
    """A raw S3 ObjectCreated notification body, key encoded as AWS encodes it: like a form
    value, `/` kept, space as `+` (moto's `%2F` for `/` is its own; the worker takes both)."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size}
    if etag is not None:
        obj["eTag"] = etag
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2026-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }
    return json.dumps({"Records": [record]})


def sqs_record(body: str, queue_arn: str, message_id: str | None = None) -> dict[str, Any]:
    """One Lambda SQS record built by hand (same shape as `deploy.local.esm.lambda_event`)."""
    now = str(int(time.time() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now,
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "ApproximateFirstReceiveTimestamp": now,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def failed_ids(response: dict[str, Any]) -> list[str]:
    """The itemIdentifiers of a partial batch response, in order."""
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer(region=REGION) as server:
        yield server


@pytest.fixture
def stack(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    moto_server.reset()
    for name in list(os.environ):
        if name.startswith(("IMGPIPE_", "AWS_")) or name in ("POWERTOOLS_DEV",):
            monkeypatch.delenv(name)
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    session = boto3.Session(region_name=REGION)
    topology = provision(session, prefix=PREFIX)
    monkeypatch.setenv("IMGPIPE_OUTPUT_BUCKET", topology.output_bucket)
    monkeypatch.setenv("IMGPIPE_DLQ_URL", topology.dlq_url)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/tmp")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    get_runtime.cache_clear()
    stack = Stack(
        server=moto_server,
        topology=topology,
        session=session,
        monkeypatch=monkeypatch,
        loop=loop,
        s3=session.client("s3"),
        sqs=session.client("sqs"),
        sns=session.client("sns"),
    )
    try:
        yield stack
    finally:
        stack.drop_runtime()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)
