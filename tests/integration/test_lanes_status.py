"""An operator sees the lanes: `imgpipe status` shows each lane's queue and the router's DLQ by
error type, and `imgpipe dlq stats` says which queue each quarantined upload failed on (a lane,
or the work queue for the router's DLQ)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from deploy import cli
from deploy.local.lanes import LaneQueues, provision_lanes
from deploy.local.topology import QueueSettings
from tests.integration.conftest import Stack, s3_event_body

pytestmark = pytest.mark.integration

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(cli.app, list(args), prog_name="imgpipe")


def _quarantine(stack: Stack, url: str, key: str, error_type: str, source_arn: str) -> None:
    attributes = {
        "imgpipe-error-type": {"DataType": "String", "StringValue": error_type},
        "imgpipe-object-key": {"DataType": "String", "StringValue": key},
        "imgpipe-source-queue": {"DataType": "String", "StringValue": source_arn},
    }
    body = s3_event_body(stack.topology.input_bucket, key, "etag")
    stack.sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)  # type: ignore[arg-type]


@pytest.fixture
def lanes(stack: Stack) -> LaneQueues:
    queues = provision_lanes(stack.session, "it", stack.topology, QueueSettings())
    stack.take_all(stack.topology.queue_url, wait_s=1)  # moto's s3:TestEvent
    for name, value in {
        "IMGPIPE_QUEUE_URL": stack.topology.queue_url,
        "IMGPIPE_INTERACTIVE_QUEUE_URL": queues.interactive_url,
        "IMGPIPE_BULK_QUEUE_URL": queues.bulk_url,
        "IMGPIPE_ROUTER_DLQ_URL": queues.router_dlq_url,
    }.items():
        stack.monkeypatch.setenv(name, value)
    # Given 3 uploads waiting on the bulk lane, 1 on the interactive one, one failure from each
    # lane in the DLQ and one the router could not route in its own
    for n in range(3):
        stack.sqs.send_message(QueueUrl=queues.bulk_url, MessageBody=f"bulk {n}")
    stack.sqs.send_message(QueueUrl=queues.interactive_url, MessageBody="interactive")
    _quarantine(stack, stack.topology.dlq_url, "uploads/bob/b.jpg", "CorruptImage", queues.bulk_arn)
    _quarantine(stack, stack.topology.dlq_url, "uploads/al/a.jpg", "CorruptImage", queues.interactive_arn)
    _quarantine(stack, queues.router_dlq_url, "uploads/al/r.jpg", "RouteFailed", stack.topology.queue_arn)
    return queues


def test_status_shows_each_lane_and_the_routers_dlq(stack: Stack, lanes: LaneQueues) -> None:
    # When an operator asks for the status
    result = invoke("status", "--output-bucket", stack.topology.output_bucket, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    # Then each lane's queue is there, and the router's DLQ, read in full, by error type
    assert document["lanes"]["bulk"] == {"visible": 3, "inFlight": 0, "delayed": 0}
    assert document["lanes"]["interactive"] == {"visible": 1, "inFlight": 0, "delayed": 0}
    router_dlq = document["lanes"]["routerDlq"]
    assert (router_dlq["total"], router_dlq["byErrorType"]) == (1, {"RouteFailed": 1})
    assert router_dlq["read"]["complete"] is True
    assert document["dlq"]["total"] == 2
    # and the table says the same to a person
    table = invoke("status", "--output-bucket", stack.topology.output_bucket)
    rows = dict(re.findall(r"│\s*([^│]*?)\s*│\s*(\d+)\s*│", table.stdout))
    assert (rows["bulk lane: queued"], rows["interactive lane: queued"], rows["router DLQ"]) == (
        "3",
        "1",
        "1",
    )
    assert rows["RouteFailed"] == "1"


def test_status_without_lanes_says_null_and_half_a_lane_is_a_usage_error(
    stack: Stack, lanes: LaneQueues
) -> None:
    stack.monkeypatch.delenv("IMGPIPE_INTERACTIVE_QUEUE_URL")
    stack.monkeypatch.delenv("IMGPIPE_BULK_QUEUE_URL")
    plain = invoke("status", "--output-bucket", stack.topology.output_bucket, "--json")
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["lanes"] is None
    half = invoke("status", "--bulk-queue-url", lanes.bulk_url, "--json")
    assert half.exit_code == 2
    assert "set both --interactive-queue-url and --bulk-queue-url, or neither" in half.stderr


def test_dlq_stats_say_which_queue_each_failed_on(stack: Stack, lanes: LaneQueues) -> None:
    main = json.loads(invoke("dlq", "stats", "--json").stdout)
    assert main["byQueue"] == {"it-work-bulk": 1, "it-work-interactive": 1}
    router = json.loads(invoke("dlq", "stats", "--dlq-url", lanes.router_dlq_url, "--json").stdout)
    assert router["byQueue"] == {"it-work": 1}
    assert router["byErrorType"] == {"RouteFailed": 1}
