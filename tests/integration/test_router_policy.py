"""Policy conformance of the router: the requests `worker.router.handler` really sends (a HEAD per
upload, batches to both lanes, a shorter retry and a quarantine to its DLQ) held against the
policies lanes.tf writes, as tests/integration/test_policy_conformance.py does for the others.

The router runs with the environment Terraform gives its function (names swapped for the moto
server's); every request is recorded as it leaves botocore and judged by the IAM evaluator under
the router role's policy (its only grant) and the bucket, queue and key policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.local.esm import lambda_event
from deploy.local.lanes import provision_lanes
from deploy.local.topology import QueueSettings
from shared.lanes import LANE_METADATA
from tests.fixtures import images
from tests.integration.conftest import REGION, Stack
from tests.integration.test_policy_conformance import Conformance, _name, function_environment
from tests.integration.test_router import refuse
from tests.policy import deployment
from tests.policy.capture import recording
from tests.policy.conformance import role
from worker.router import store

pytestmark = pytest.mark.integration


@pytest.fixture
def routed(stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Conformance]:
    monkeypatch.chdir(tmp_path)
    dep, top = deployment(), stack.topology
    lanes = provision_lanes(stack.session, "it", top, QueueSettings())
    stack.take_all(top.queue_url, wait_s=1)  # moto's s3:TestEvent
    key = stack.session.client("kms").create_key(Description="aws_kms_key.main")["KeyMetadata"]["Arn"]
    queues = {
        top.queue_url: "work", top.dlq_url: "dlq", lanes.interactive_url: "interactive",
        lanes.bulk_url: "bulk", lanes.router_dlq_url: "router_dlq",
    }  # fmt: skip
    names = {
        top.input_bucket: dep.value("module.input_bucket.id"),
        top.output_bucket: dep.value("module.output_bucket.id"),
        _name(top.topic_arn): dep.value("aws_sns_topic.uploads.name"),
        key: dep.value("aws_kms_key.main.arn"),
        **{_name(url): dep.value(f"aws_sqs_queue.{name}.name") for url, name in queues.items()},
    }
    emulated = {v: k for k, v in names.items()} | {
        dep.value(f"aws_sqs_queue.{name}.id"): url for url, name in queues.items()
    }
    stack.configure(**function_environment(dep, emulated, "worker.router.handler.handler"))
    with recording(monkeypatch) as recorder:
        store.clients.cache_clear()  # made under the recorder, as at the function's cold start
        from worker.router import handler

        handler.router.cache_clear()
        yield Conformance(stack, recorder, dep, names, emulated)
    store.clients.cache_clear()


def _route(conformance: Conformance, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The router's handler on `messages`, its requests recorded as the router's."""
    from worker.router import handler

    conformance.recorder.client = "router"
    try:
        return handler.route_event(lambda_event(messages, conformance.stack.topology.queue_arn, REGION))
    finally:
        conformance.recorder.client = None


def test_the_router_routes_retries_and_quarantines_as_its_role_and_the_policies_allow(
    routed: Conformance,
) -> None:
    stack = routed.stack
    # Given a batch-call upload and a single one, routed
    for key, lane in (("uploads/alice/a.jpg", None), ("uploads/bob/b.jpg", "bulk")):
        metadata = {LANE_METADATA: lane} if lane else {}
        stack.s3.put_object(
            Bucket=stack.topology.input_bucket, Key=key, Body=images.photo_jpeg(64, 48), Metadata=metadata
        )
    assert _route(routed, stack.drain(2)) == {"batchItemFailures": []}
    # and one the lanes refuse, on its first receive (retried sooner) and on its last (quarantined)
    stack.s3.put_object(Bucket=stack.topology.input_bucket, Key="uploads/alice/c.jpg", Body=b"x")
    (message,) = stack.drain(1)
    store.clients().sqs.meta.events.register("before-send.sqs.SendMessageBatch", refuse)
    assert len(_route(routed, [message])["batchItemFailures"]) == 1
    message["Attributes"]["ApproximateReceiveCount"] = str(QueueSettings().max_receive_count)
    assert _route(routed, [message]) == {"batchItemFailures": []}
    # Then it made every kind of request it makes, to the work queue, both lanes and its DLQ
    done = routed.operations("router")
    assert {
        "s3.HeadObject",
        "sqs.SendMessageBatch",
        "sqs.ChangeMessageVisibilityBatch",
        "sqs.SendMessage",
    } <= set(done)
    sent_to = {
        json.loads(w.body)["QueueUrl"].rsplit("/", 1)[-1] for w in routed.recorder.of("router") if w.body
    }
    assert {"it-work-interactive", "it-work-bulk", "it-router-dlq", "it-work"} <= sent_to
    # And with its role's policy and the bucket, queue and key policies, AWS would refuse none of it
    router = role(routed.dep, "aws_iam_role.router.arn")
    assert routed.refused(routed.recorder.of("router"), router) == ""
    # while the worker's role could not have sent a single one of its batches to a lane
    worker = role(routed.dep, "aws_iam_role.worker.arn")
    assert "sqs:SendMessage" in routed.refused(routed.recorder.of("router"), worker)
