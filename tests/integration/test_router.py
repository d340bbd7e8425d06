"""The router against the moto server: S3 -> SNS -> the work queue as moto delivers it, then
`worker.router.handler` sends each record, unchanged, to its lane's real queue, and the worker
takes it from there.

Faults are botocore before-send hooks on the router's own SQS and S3 clients: a lane that refuses
every send, one entry of a batch refused (the others really sent), a HEAD refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from deploy.local.esm import lambda_event
from deploy.local.lanes import LaneQueues, provision_lanes
from deploy.local.topology import QueueSettings
from deploy.ops.dlq import read
from shared.lanes import LANE_METADATA
from tests.fixtures import images
from tests.integration.conftest import REGION, Stack, object_key
from worker.job import is_redrive
from worker.router import store

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageAttributeValueTypeDef

pytestmark = pytest.mark.integration

Route = Callable[[list[dict[str, Any]]], dict[str, Any]]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _answer(request: Any, status: int, document: dict[str, Any], headers: dict[str, str]) -> AWSResponse:
    everything: Any = {"content-type": "application/x-amz-json-1.0", **headers}
    return AWSResponse(request.url, status, everything, _Raw(json.dumps(document).encode()))


def refuse(request: Any, **_: Any) -> AWSResponse:
    """An SQS call refused outright (AccessDenied: botocore does not retry it)."""
    document = {"__type": "com.amazon.coral.service#AccessDeniedException", "message": "injected"}
    return _answer(request, 403, document, {"x-amzn-query-error": "AccessDenied;Sender"})


def refuse_head(request: Any, **_: Any) -> AWSResponse:
    """HeadObject answered 403, as S3 does without the permission."""
    headers: Any = {"content-length": "0"}
    return AWSResponse(request.url, 403, headers, _Raw(b""))


def refuse_one_entry(name: str) -> Callable[..., AWSResponse]:
    """SendMessageBatch: every entry but the one whose body names `name` really sent; that one
    answered as failed, as SQS reports a partial failure."""
    sender = boto3.client("sqs", region_name=REGION)

    def hook(request: Any, **_: Any) -> AWSResponse:
        call = json.loads(request.body)
        sent = [entry for entry in call["Entries"] if name not in entry["MessageBody"]]
        refused = [entry for entry in call["Entries"] if name in entry["MessageBody"]]
        answer: dict[str, Any] = (
            dict(sender.send_message_batch(QueueUrl=call["QueueUrl"], Entries=sent)) if sent else {}
        )
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
            for e in refused
        ]
        return _answer(request, 200, {"Successful": answer.get("Successful", []), "Failed": failed}, {})

    return hook


@pytest.fixture
def lanes(stack: Stack) -> Iterator[LaneQueues]:
    queues = provision_lanes(stack.session, "it", stack.topology, QueueSettings())
    stack.configure(**queues.environment(QueueSettings()), IMGPIPE_QUEUE_URL=stack.topology.queue_url)
    stack.take_all(stack.topology.queue_url, wait_s=1)  # moto's s3:TestEvent
    store.clients.cache_clear()
    yield queues
    store.clients.cache_clear()


@pytest.fixture
def route(lanes: LaneQueues, stack: Stack) -> Route:
    """The router's handler on these work-queue messages, as its event source mapping calls it."""
    from worker.router import handler

    handler.router.cache_clear()  # a cold start with this test's settings

    def call(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return handler.route_event(lambda_event(messages, stack.topology.queue_arn, REGION))

    return call


def _photo(stack: Stack, key: str, lane: str | None = None) -> None:
    metadata = {LANE_METADATA: lane} if lane else {}
    body = images.photo_jpeg(64, 48)
    stack.s3.put_object(Bucket=stack.topology.input_bucket, Key=key, Body=body, Metadata=metadata)


def _hook(event: str, hook: Callable[..., AWSResponse | None]) -> None:
    clients = store.clients()
    client = clients.s3 if event.startswith("before-send.s3") else clients.sqs
    client.meta.events.register(event, hook)


def _keys(stack: Stack, queue_url: str) -> list[str]:
    return sorted(object_key(m) for m in stack.take_all(queue_url))


def test_each_upload_goes_to_its_lane_with_its_body_unchanged(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given an unmarked upload of alice's and one from bob's batch call (marked bulk), as moto delivers them
    _photo(stack, "uploads/alice/a1.jpg")
    _photo(stack, "uploads/bob/b1.jpg", lane="bulk")
    messages = stack.drain(2)
    # When the router takes the batch
    assert route(messages) == {"batchItemFailures": []}
    # Then each is on its lane, its body exactly what arrived
    arrived = {object_key(m): m["Body"] for m in messages}
    interactive, bulk = stack.take_all(lanes.interactive_url), stack.take_all(lanes.bulk_url)
    assert [object_key(m) for m in interactive] == ["uploads/alice/a1.jpg"]
    assert [object_key(m) for m in bulk] == ["uploads/bob/b1.jpg"]
    assert interactive[0]["Body"] == arrived["uploads/alice/a1.jpg"]
    assert bulk[0]["Body"] == arrived["uploads/bob/b1.jpg"]
    # and carries its tenant as its message group (SQS fair queues on AWS; moto only keeps it)
    assert bulk[0]["Attributes"]["MessageGroupId"] == "bob"
    assert interactive[0]["Attributes"]["MessageGroupId"] == "alice"


def test_the_worker_processes_a_lane_message_as_it_came(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given bob's bulk upload routed to the bulk lane
    _photo(stack, "uploads/bob/b2.jpg", lane="bulk")
    route(stack.drain(1))
    (message,) = stack.take_all(lanes.bulk_url)
    # When the worker takes it from the bulk lane's event source mapping
    response = stack.invoke(lambda_event([message], lanes.bulk_arn, REGION))
    # Then it renders it exactly as from the work queue
    assert response == {"batchItemFailures": []}
    assert stack.manifest("b2")["status"] == "complete"  # type: ignore[index]


def test_a_tenant_over_its_rate_goes_bulk_and_others_stay_interactive(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given a router that lets a tenant send 3 unmarked uploads a minute
    stack.configure(IMGPIPE_ROUTER_BULK_PER_MINUTE="3")
    store.clients.cache_clear()
    # When alice sends 5 through the single-upload call, and carol one
    for n in range(5):
        _photo(stack, f"uploads/alice/r{n}.jpg")
    _photo(stack, "uploads/carol/c1.jpg")
    messages = sorted(stack.drain(6), key=object_key)
    assert route(messages) == {"batchItemFailures": []}
    # Then alice's first 3 are interactive, the rest bulk; carol's is interactive
    bulk = _keys(stack, lanes.bulk_url)
    assert len(bulk) == 2 and all(key.startswith("uploads/alice/") for key in bulk)
    assert "uploads/carol/c1.jpg" in _keys(stack, lanes.interactive_url)


def test_a_head_that_fails_leaves_the_choice_to_the_rate(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given a bulk-marked upload whose HEAD S3 refuses
    _photo(stack, "uploads/bob/h1.jpg", lane="bulk")
    messages = stack.drain(1)
    _hook("before-send.s3.HeadObject", refuse_head)
    # When the router takes it, then it is still routed (interactive: bob is under his rate)
    assert route(messages) == {"batchItemFailures": []}
    assert _keys(stack, lanes.interactive_url) == ["uploads/bob/h1.jpg"]


def test_a_lane_that_refuses_gets_the_records_back_soon_not_after_the_visibility_timeout(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given the interactive lane refusing every send, and a 1 s retry
    stack.configure(IMGPIPE_ROUTER_RETRY_S="1")
    store.clients.cache_clear()
    _photo(stack, "uploads/alice/f1.jpg")
    messages = stack.drain(1)
    _hook("before-send.sqs.SendMessageBatch", refuse)
    # When the router takes it, then it reports it failed
    assert route(messages) == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert stack.take_all(lanes.interactive_url) == []
    # and it is back on the work queue within seconds (the queue's own timeout is 361 s)
    started = time.monotonic()
    again = stack.take_all(stack.topology.queue_url, wait_s=5)
    assert [object_key(m) for m in again] == ["uploads/alice/f1.jpg"]
    assert time.monotonic() - started < 5


def test_one_entry_refused_fails_only_its_record(stack: Stack, lanes: LaneQueues, route: Route) -> None:
    # Given three uploads, and SQS refusing the entry of one of them
    for name in ("p1", "p2", "p3"):
        _photo(stack, f"uploads/alice/{name}.jpg")
    messages = stack.drain(3)
    _hook("before-send.sqs.SendMessageBatch", refuse_one_entry("p2.jpg"))
    # When the router takes them, then only that one is reported, and the others are on their lane
    failed = route(messages)["batchItemFailures"]
    by_key = {object_key(m): m["MessageId"] for m in messages}
    assert failed == [{"itemIdentifier": by_key["uploads/alice/p2.jpg"]}]
    assert _keys(stack, lanes.interactive_url) == ["uploads/alice/p1.jpg", "uploads/alice/p3.jpg"]


def test_on_its_last_receive_a_record_goes_to_the_routers_dlq_with_its_reason(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given a record on its fifth receive (maxReceiveCount 5) that the lane refuses
    _photo(stack, "uploads/alice/last.jpg")
    (message,) = stack.drain(1)
    message["Attributes"]["ApproximateReceiveCount"] = "5"
    _hook("before-send.sqs.SendMessageBatch", refuse)
    # When the router takes it, then it is not reported (it is handled) ...
    assert route([message]) == {"batchItemFailures": []}
    # ... and the router's DLQ holds it, body unchanged, with the reason the DLQ tools read
    messages, _ = read(stack.sqs, lanes.router_dlq_url)
    (quarantined,) = messages
    assert quarantined.body == message["Body"]
    assert quarantined.error_type == "RouteFailed" and "AccessDenied" in quarantined.reason
    assert quarantined.object_key == "uploads/alice/last.jpg"
    assert quarantined.source_queue == stack.topology.queue_arn
    assert quarantined.receive_count == 5


def test_if_the_dlq_refuses_too_the_record_is_left_to_sqs(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given a last receive, and SQS refusing both the lane's batch and the DLQ's send
    _photo(stack, "uploads/alice/gone.jpg")
    (message,) = stack.drain(1)
    message["Attributes"]["ApproximateReceiveCount"] = "5"
    _hook("before-send.sqs.SendMessageBatch", refuse)
    _hook("before-send.sqs.SendMessage", refuse)
    # Then it is reported failed: SQS moves it to the router's DLQ (its redrive policy) on its own
    assert route([message]) == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    attributes = stack.sqs.get_queue_attributes(
        QueueUrl=stack.topology.queue_url, AttributeNames=["RedrivePolicy"]
    )
    assert (
        json.loads(attributes["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"] == lanes.router_dlq_arn
    )


def test_a_redriven_message_keeps_its_attributes_through_the_router(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given a quarantined message an operator redrove to the work queue (attributes and all)
    _photo(stack, "uploads/alice/rd.jpg")
    (arrived,) = stack.drain(1)
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        "imgpipe-error-type": {"DataType": "String", "StringValue": "CorruptImage"},
        "imgpipe-redrive-count": {"DataType": "String", "StringValue": "1"},
    }
    stack.sqs.send_message(
        QueueUrl=stack.topology.queue_url, MessageBody=arrived["Body"], MessageAttributes=attributes
    )
    stack.sqs.change_message_visibility(
        QueueUrl=stack.topology.queue_url, ReceiptHandle=arrived["ReceiptHandle"], VisibilityTimeout=0
    )
    redriven = [m for m in stack.drain(2) if m.get("MessageAttributes")]
    # When the router takes it
    assert route(redriven) == {"batchItemFailures": []}
    # Then the worker sees the same attributes: a redrive, tried again
    (routed,) = stack.take_all(lanes.interactive_url)
    assert {name: value["StringValue"] for name, value in routed["MessageAttributes"].items()} == {
        "imgpipe-error-type": "CorruptImage",
        "imgpipe-redrive-count": "1",
    }
    assert is_redrive(
        lambda_event([routed], lanes.interactive_arn, REGION)["Records"][0]["messageAttributes"]
    )


def test_what_is_not_an_upload_event_is_routed_as_it_came_for_the_worker_to_judge(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given an s3:TestEvent (as S3 sends one when a notification is configured) and a body
    # that is not JSON at all
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-12-07T00:00:00.000Z",
        "Bucket": stack.topology.input_bucket,
        "RequestId": "IT0003",
        "HostId": "it",
    }
    stack.sqs.send_message(QueueUrl=stack.topology.queue_url, MessageBody=json.dumps(test_event))
    stack.sqs.send_message(QueueUrl=stack.topology.queue_url, MessageBody="not json {")
    messages = stack.take_all(stack.topology.queue_url, wait_s=1)
    bodies = {m["Body"] for m in messages}
    assert bodies == {json.dumps(test_event), "not json {"}
    # When the router takes them, then both are on the interactive lane, as they came
    assert route(messages) == {"batchItemFailures": []}
    assert {m["Body"] for m in stack.take_all(lanes.interactive_url)} == bodies


def test_the_router_measures_how_long_each_record_took_to_reach_its_lane(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given two uploads that waited a moment on the work queue
    from worker.router import handler
    from worker.router.records import inbound

    _photo(stack, "uploads/alice/t1.jpg")
    _photo(stack, "uploads/bob/t2.jpg")
    messages = stack.drain(2)
    time.sleep(0.3)
    # When the router sends them on, then each one's age (SentTimestamp -> sent to its lane) is measured
    event = lambda_event(messages, stack.topology.queue_arn, REGION)
    routed = handler.router().route([inbound(r) for r in event["Records"]], stack.topology.queue_arn)
    assert len(routed.ages_ms) == 2
    assert all(300 <= age < 60_000 for age in routed.ages_ms)


def test_past_its_rate_a_tenants_uploads_go_bulk_without_a_head(
    stack: Stack, lanes: LaneQueues, route: Route
) -> None:
    # Given a router that lets a tenant send 3 uploads a minute, and a count of its HEADs
    stack.configure(IMGPIPE_ROUTER_BULK_PER_MINUTE="3")
    store.clients.cache_clear()
    heads: list[str] = []

    def count(request: Any, **_: Any) -> None:
        heads.append(request.url)

    _hook("before-send.s3.HeadObject", count)
    # When bob's batch call sends 8 photos
    for n in range(8):
        _photo(stack, f"uploads/bob/k{n}.jpg", lane="bulk")
    assert route(stack.drain(8)) == {"batchItemFailures": []}
    # Then all 8 are bulk, and only the 3 under his rate cost a HEAD
    assert len(_keys(stack, lanes.bulk_url)) == 8
    assert len(heads) == 3
