"""Optional destinations: SSE-KMS for the outputs, and a result topic for other services."""

from __future__ import annotations

import json

import pytest

from tests.fixtures import images
from tests.integration.conftest import VARIANT_NAMES, Stack

pytestmark = pytest.mark.integration


def test_outputs_are_encrypted_with_the_configured_kms_key(stack: Stack) -> None:
    key = stack.session.client("kms").create_key(Description="imgpipe outputs")["KeyMetadata"]
    stack.configure(IMGPIPE_KMS_KEY_ID=key["Arn"])
    ((etag, message),) = stack.upload_and_receive(
        [("uploads/u1/secret.jpg", images.photo_jpeg(400, 300, seed=91))]
    ).values()

    assert stack.process([message]) == {"batchItemFailures": []}

    manifest = stack.assert_consistent("secret", "u1", etag)
    keys = [v["key"] for v in manifest["variants"]] + ["metadata/secret/processing-info.json"]
    assert len(keys) == len(VARIANT_NAMES) + 1
    for output in keys:
        head = stack.head_output(output)
        assert head["ServerSideEncryption"] == "aws:kms", output
        reported = head["SSEKMSKeyId"]
        # S3 reports the key ARN; moto echoes what was sent. Either way it is this key.
        assert reported in (key["Arn"], key["KeyId"]) or reported.endswith(f"key/{key['KeyId']}"), reported
        assert head.get("BucketKeyEnabled") is True, output


def test_result_topic_announces_processed_and_failed_images(stack: Stack) -> None:
    topic = stack.sns.create_topic(Name="it-results")["TopicArn"]
    results_url = stack.sqs.create_queue(QueueName="it-results")["QueueUrl"]
    results_arn = stack.sqs.get_queue_attributes(QueueUrl=results_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    stack.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=results_arn)
    stack.configure(IMGPIPE_RESULT_TOPIC_ARN=topic)
    received = stack.upload_and_receive(
        [
            ("uploads/u7/fine.jpg", images.photo_jpeg(400, 300, seed=92)),
            ("uploads/u7/broken.jpg", images.truncated_jpeg(400, 300)),
        ]
    )

    assert stack.process([m for _, m in received.values()]) == {"batchItemFailures": []}

    envelopes = [json.loads(m["Body"]) for m in stack.take_all(results_url, wait_s=1)]
    assert all(e["Type"] == "Notification" and e["TopicArn"] == topic for e in envelopes)
    by_image = {}
    for envelope in envelopes:
        message = json.loads(envelope["Message"])
        assert envelope["MessageAttributes"]["eventType"]["Value"] == message["type"]
        by_image[message["imageId"]] = message
    assert sorted(by_image) == ["broken", "fine"], envelopes

    fine, broken = by_image["fine"], by_image["broken"]
    assert fine["type"] == "ImageProcessed"
    assert (fine["userId"], fine["status"]) == ("u7", "complete")
    assert fine["manifestKey"] == "metadata/fine/processing-info.json"
    assert fine["source"]["key"] == "uploads/u7/fine.jpg"
    assert fine["source"]["etag"] == received["uploads/u7/fine.jpg"][0]
    assert broken["type"] == "ImageFailed"
    assert (broken["userId"], broken["status"]) == ("u7", "failed")
    assert broken["manifestKey"] == "metadata/broken/processing-info.json"
    assert broken["source"]["etag"] == received["uploads/u7/broken.jpg"][0]
    assert stack.manifest("broken")["error"]["type"] == "CorruptImage"  # type: ignore[index]
    assert len(stack.dlq_messages()) == 1
