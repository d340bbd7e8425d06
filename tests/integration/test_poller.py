"""The poller against a real SQS (moto server): Lambda's event source mapping semantics.

The handlers here are test doubles on purpose: these tests are about what the mapping does with
a handler's answer (delete, leave, redrive), not about image processing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from deploy.local.esm import LocalContext
from deploy.local.motoserver import MotoServer
from deploy.local.poller import Poller, PollerConfig
from deploy.local.topology import QueueSettings, Topology, provision

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.literals import QueueAttributeNameType

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> tuple[SQSClient, Topology]:
    moto.reset()
    for name, value in moto.environment().items():
        monkeypatch.setenv(name, value)
    session = boto3.Session(region_name=moto.region)
    topology = provision(session, prefix="esm", queue=QueueSettings.for_timeout(1))
    sqs = session.client("sqs")
    # Short visibility so redelivery happens within the test (provisioned: 6 s).
    sqs.set_queue_attributes(QueueUrl=topology.queue_url, Attributes={"VisibilityTimeout": "1"})
    _drain_test_event(sqs, topology.queue_url)
    return sqs, topology


def _drain_test_event(sqs: SQSClient, url: str) -> None:
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    ):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _send(sqs: SQSClient, url: str, count: int) -> list[str]:
    return [
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": i}))["MessageId"] for i in range(count)
    ]


def _config(topology: Topology, **overrides: Any) -> PollerConfig:
    values: dict[str, Any] = {
        "queue_url": topology.queue_url,
        "queue_arn": topology.queue_arn,
        "region": "us-east-1",
        "batch_size": 10,
        "function_timeout_s": 5,
        "idle_wait_s": 1,
    }
    return PollerConfig(**{**values, **overrides})


def _depth(sqs: SQSClient, url: str) -> int:
    names: list[QueueAttributeNameType] = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def test_partial_failure_leaves_only_the_reported_records(aws: tuple[SQSClient, Topology]) -> None:
    # Given three messages and a handler that reports the second as failed
    sqs, topology = aws
    ids = _send(sqs, topology.queue_url, 3)
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: LocalContext) -> dict[str, Any]:
        seen.append(event)
        return {"batchItemFailures": [{"itemIdentifier": ids[1]}]}

    # When one batch is polled
    result = Poller(sqs, handler, _config(topology)).poll_once()
    # Then the event was shaped like Lambda's, two were deleted and only the failed one comes back
    assert result is not None and (result.received, result.deleted, result.left) == (3, 2, 1)
    record = seen[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == topology.queue_arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    time.sleep(1.2)
    again = sqs.receive_message(QueueUrl=topology.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert [m["MessageId"] for m in again["Messages"]] == [ids[1]]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(RuntimeError("boom"), id="raises"),
        pytest.param({"batchItemFailures": [{"itemIdentifier": ""}]}, id="empty-identifier"),
        pytest.param({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, id="foreign-identifier"),
        pytest.param(None, id="not-a-dict"),
    ],
)
def test_whole_batch_stays_when_lambda_would_fail_it(aws: tuple[SQSClient, Topology], answer: Any) -> None:
    sqs, topology = aws
    _send(sqs, topology.queue_url, 4)

    def handler(event: dict[str, Any], context: LocalContext) -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    result = Poller(sqs, handler, _config(topology)).poll_once()
    assert result is not None and (result.deleted, result.left) == (0, 4)
    assert _depth(sqs, topology.queue_url) == 4


def test_an_overrun_keeps_the_whole_batch(aws: tuple[SQSClient, Topology]) -> None:
    sqs, topology = aws
    _send(sqs, topology.queue_url, 2)

    def slow(event: dict[str, Any], context: LocalContext) -> dict[str, Any]:
        time.sleep(1.2)
        return {"batchItemFailures": []}

    result = Poller(sqs, slow, _config(topology, function_timeout_s=1)).poll_once()
    assert result is not None and result.reason == "timeout" and result.deleted == 0


def test_receive_counts_grow_and_max_receive_count_moves_to_the_dlq(aws: tuple[SQSClient, Topology]) -> None:
    # Given a message the handler always reports as failed
    sqs, topology = aws
    (message_id,) = _send(sqs, topology.queue_url, 1)
    counts: list[str] = []

    def always_fails(event: dict[str, Any], context: LocalContext) -> dict[str, Any]:
        counts.extend(r["attributes"]["ApproximateReceiveCount"] for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    # When it is polled until the queue is empty (visibility 1 s, maxReceiveCount 5)
    poller = Poller(sqs, always_fails, _config(topology))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _depth(sqs, topology.queue_url):
        poller.poll_once()
        time.sleep(0.2)
    # Then it was delivered five times with growing counts and now sits in the DLQ, body unchanged
    assert counts == ["1", "2", "3", "4", "5"]
    dead = sqs.receive_message(QueueUrl=topology.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)[
        "Messages"
    ]
    assert [m["MessageId"] for m in dead] == [message_id]
    assert json.loads(dead[0]["Body"]) == {"n": 0}


def test_batching_window_collects_records_sent_during_it(aws: tuple[SQSClient, Topology]) -> None:
    # Given one message now and two more 1 s later, and a 3 s batching window
    sqs, topology = aws
    sqs.set_queue_attributes(QueueUrl=topology.queue_url, Attributes={"VisibilityTimeout": "10"})
    _send(sqs, topology.queue_url, 1)
    poller = Poller(sqs, lambda e, c: {"batchItemFailures": []}, _config(topology, batching_window_s=3))

    late = threading.Timer(1.0, lambda: _send(sqs, topology.queue_url, 2))
    late.start()
    try:
        batch = poller.receive_batch()
    finally:
        late.join()
    # Then all three arrive in one batch
    assert len(batch) == 3


def test_a_message_seen_twice_in_one_window_is_in_the_batch_once(aws: tuple[SQSClient, Topology]) -> None:
    # Given visibility (1 s) shorter than the window (3 s), the message comes back mid-window
    sqs, topology = aws
    (message_id,) = _send(sqs, topology.queue_url, 1)
    poller = Poller(sqs, lambda e, c: {"batchItemFailures": []}, _config(topology, batching_window_s=3))
    assert [m["MessageId"] for m in poller.receive_batch()] == [message_id]


def test_without_a_window_one_receive_makes_the_batch(aws: tuple[SQSClient, Topology]) -> None:
    sqs, topology = aws
    _send(sqs, topology.queue_url, 12)
    poller = Poller(sqs, lambda e, c: {"batchItemFailures": []}, _config(topology, batch_size=20))
    assert 1 <= len(poller.receive_batch()) <= 10
