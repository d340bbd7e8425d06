"""From failure to fixed: an upload that failed while S3 was failing reaches the DLQ the way SQS puts
it there, is redriven once the fault is gone and comes out complete; a poison file stays behind
with its reason, and one redriven again and again is held back by the poison-loop guard.

The worker runs through the integration harness (`Stack.process` calls the Lambda handler);
the operator's side is the real `imgpipe dlq` CLI against the same moto server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from deploy import cli
from deploy.local.topology import MAX_RECEIVE_COUNT
from tests.fixtures import images
from tests.integration.conftest import Fault, Stack, failed_ids

pytestmark = pytest.mark.integration

runner = CliRunner()
OUTAGE_KEY = "uploads/alice/img_outage.jpg"
POISON_KEY = "uploads/bob/img_poison.jpg"


def dlq_json(*args: str) -> Any:
    result = runner.invoke(cli.app, ["dlq", *args, "--json"], prog_name="imgpipe")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def acknowledge(stack: Stack, message: dict[str, Any]) -> None:
    """What the event source mapping does with a record the handler did not report failed."""
    stack.sqs.delete_message(QueueUrl=stack.topology.queue_url, ReceiptHandle=message["ReceiptHandle"])


def exhaust(stack: Stack, message: dict[str, Any]) -> None:
    """Receive a failed message again and again, as SQS would, until SQS moves it to the DLQ."""
    queue = stack.topology.queue_url
    stack.sqs.change_message_visibility(
        QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    for _ in range(MAX_RECEIVE_COUNT + 1):
        got = stack.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
        if not got.get("Messages"):
            return
        assert [m["MessageId"] for m in got["Messages"]] == [message["MessageId"]]
    raise AssertionError("SQS did not move the message to the DLQ")


@pytest.fixture
def pipeline(stack: Stack) -> Stack:
    stack.configure(AWS_MAX_ATTEMPTS="1")  # the worker's own retries only: the outage fails fast
    stack.monkeypatch.setenv("IMGPIPE_QUEUE_URL", stack.topology.queue_url)
    stack.take_all(stack.topology.queue_url, wait_s=1)  # moto's s3:TestEvent
    return stack


def test_an_upload_failed_by_an_s3_outage_is_redriven_and_completes_while_a_poison_file_stays(
    pipeline: Stack,
) -> None:
    # Given a good photo and a truncated one uploaded
    received = pipeline.upload_and_receive(
        [(OUTAGE_KEY, images.photo_jpeg(400, 300, seed=41)), (POISON_KEY, images.truncated_jpeg())]
    )
    (etag, good), (_, poison) = received[OUTAGE_KEY], received[POISON_KEY]
    # And the truncated one processed normally: quarantined with its reason
    assert pipeline.process([poison]) == {"batchItemFailures": []}
    acknowledge(pipeline, poison)
    # And the good one failing every time because the output bucket answers SlowDown to every put
    output = f"/{pipeline.topology.output_bucket}/"
    fault = pipeline.inject(Fault("PutObject", lambda url: output in url, fail=lambda n: True))
    assert failed_ids(pipeline.process([good])) == [good["MessageId"]]
    assert fault.failed > 0 and pipeline.manifest("img_outage") is None
    # And SQS giving up on it after maxReceiveCount receives, moving it to the DLQ untagged
    exhaust(pipeline, good)
    stats = dlq_json("stats")
    assert stats["byErrorType"] == {"CorruptImage": 1, "Exhausted": 1}
    # When the fault is gone and the Exhausted messages are redriven
    pipeline.remove(fault)
    moved = dlq_json("redrive", "--type", "exhausted", "--yes")
    assert (moved["moved"], moved["skipped"]) == (1, 1)
    (again,) = pipeline.drain(1)
    # Then processing the redriven message completes the image, exactly as uploaded
    assert pipeline.process([again]) == {"batchItemFailures": []}
    pipeline.assert_consistent("img_outage", "alice", etag)
    # And the poison file is still in the DLQ, alone, with its reason
    listed = dlq_json("list")
    (left,) = listed["messages"]
    assert (left["objectKey"], left["errorType"]) == (POISON_KEY, "CorruptImage")
    assert left["reason"] and left["failedAt"]


def test_a_poison_file_redriven_again_and_again_is_held_back_after_the_limit(pipeline: Stack) -> None:
    # Given a truncated upload, quarantined
    ((_, message),) = pipeline.upload_and_receive([(POISON_KEY, images.truncated_jpeg())]).values()
    assert pipeline.process([message]) == {"batchItemFailures": []}
    acknowledge(pipeline, message)
    # When it is redriven and fails again, three times over
    for redrive in range(1, 4):
        assert dlq_json("redrive", "--type", "CorruptImage", "--yes")["moved"] == 1
        (again,) = pipeline.drain(1)
        assert pipeline.process([again]) == {"batchItemFailures": []}
        acknowledge(pipeline, again)
        # Then each time it is back in the DLQ with its redrive count carried and counted up
        (item,) = dlq_json("list")["messages"]
        assert (item["errorType"], item["redriveCount"]) == ("CorruptImage", redrive)
    # And the fourth redrive holds it back instead of sending it round again
    held = dlq_json("redrive", "--type", "CorruptImage", "--yes")
    assert (held["moved"], held["heldBack"]) == (0, 1)
