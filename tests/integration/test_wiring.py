"""The real wiring: S3 upload -> SNS -> SQS -> the event Lambda builds -> handler -> output bucket."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from urllib.parse import unquote, unquote_plus

import pytest
from PIL import Image

from shared.variants import DEFAULT_VARIANTS
from tests.fixtures import images
from tests.integration.conftest import DEFAULT_CACHE_CONTROL, REGION, VARIANT_NAMES, Stack

pytestmark = pytest.mark.integration

SOURCE_SIZE = (1400, 1000)


def test_upload_arrives_through_sns_and_is_processed(stack: Stack) -> None:
    body = images.photo_jpeg(*SOURCE_SIZE, seed=11)
    key = "uploads/user-1/img_0001.jpg"
    etag = stack.upload(key, body)

    messages = stack.drain(1)
    event = stack.event(messages)

    # ---- the event has every field of a Lambda SQS record, with real values
    (record,) = event["Records"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["messageId"] == messages[0]["MessageId"] and record["messageId"]
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"] == {}  # raw delivery of an S3 notification carries none
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.topology.queue_arn
    assert record["awsRegion"] == REGION
    # raw delivery: the body is the S3 notification itself, not an SNS envelope
    s3_record = json.loads(record["body"])["Records"][0]
    assert s3_record["eventSource"] == "aws:s3"
    assert s3_record["eventName"].startswith("ObjectCreated:")
    assert s3_record["s3"]["bucket"]["name"] == stack.topology.input_bucket
    # the key arrives form-encoded: AWS keeps `/`, moto sends `%2F`; either decodes to the key
    assert unquote_plus(s3_record["s3"]["object"]["key"]) == "uploads/user-1/img_0001.jpg"
    assert s3_record["s3"]["object"]["eTag"] == etag

    # ---- the handler processes it
    assert stack.invoke(event) == {"batchItemFailures": []}

    manifest = stack.manifest("img_0001")
    assert manifest is not None
    render = manifest["pipeline"]["renderId"]
    expected = [f"processed/user-1/img_0001/{render}/{name}.jpg" for name in VARIANT_NAMES]
    assert stack.output_keys() == sorted([*expected, "metadata/img_0001/processing-info.json"])
    assert manifest["status"] == "complete"
    assert manifest["imageId"] == "img_0001"
    assert manifest["userId"] == "user-1"
    assert "error" not in manifest
    source = manifest["source"]
    assert source["bucket"] == stack.topology.input_bucket
    assert source["key"] == key
    assert source["etag"] == etag
    assert source["bytes"] == len(body)
    assert (source["format"], source["width"], source["height"]) == ("jpeg", *SOURCE_SIZE)
    assert [v["name"] for v in manifest["variants"]] == list(VARIANT_NAMES)

    boxes = {spec.name: (spec.width, spec.height, spec.fit) for spec in DEFAULT_VARIANTS}
    for variant in manifest["variants"]:
        assert variant["key"] == f"processed/user-1/img_0001/{render}/{variant['name']}.jpg"
        assert variant["format"] == "jpeg"
        data = stack.read_output(variant["key"])
        assert hashlib.sha256(data).hexdigest() == variant["sha256"]
        assert len(data) == variant["bytes"]
        decoded = Image.open(io.BytesIO(data))
        assert decoded.format == "JPEG"
        assert decoded.size == (variant["width"], variant["height"])
        width, height, fit = boxes[variant["name"]]
        if width is None:
            assert decoded.size == SOURCE_SIZE
        elif fit == "cover":
            assert decoded.size == (width, height)
        else:
            assert height is not None
            assert decoded.size[0] <= width and decoded.size[1] <= height
            assert width in decoded.size or height in decoded.size or decoded.size == SOURCE_SIZE

        head = stack.head_output(variant["key"])
        assert head["ContentType"] == "image/jpeg"
        assert head["CacheControl"] == DEFAULT_CACHE_CONTROL
        assert head["ServerSideEncryption"] == "AES256"
        assert head["Metadata"]["source-etag"] == etag
        assert head["Metadata"]["config-hash"] == manifest["pipeline"]["configHash"]

    sizes = {v["name"]: (v["width"], v["height"]) for v in manifest["variants"]}
    assert sizes == {
        "original": (1400, 1000),
        "large": (1400, 1000),
        "medium": (800, 571),
        "small": (320, 229),
        "thumbnail": (150, 150),
    }
    head = stack.head_output("metadata/img_0001/processing-info.json")
    assert head["ContentType"] == "application/json"
    assert head["ServerSideEncryption"] == "AES256"

    # nothing quarantined, and the queue event was the only one
    assert stack.dlq_messages() == []


@pytest.mark.parametrize("checksums", [None, "when_required"])
def test_every_body_goes_unsigned_with_the_sha256_its_manifest_lists(
    stack: Stack, checksums: str | None
) -> None:
    # Given the worker's S3 client, watched as it sends, with botocore's own checksums on by
    # default or off (AWS_REQUEST_CHECKSUM_CALCULATION=when_required, as for some S3-compatible
    # stores). botocore would SHA-256-sign every body over http, a local emulator's scheme.
    stack.configure(AWS_REQUEST_CHECKSUM_CALCULATION=checksums)
    sent: dict[str, dict[str, bytes]] = {}
    s3 = stack.clients().s3

    def watch(request: object, **_: object) -> None:
        headers = request.headers.items()  # type: ignore[attr-defined]
        key = unquote(request.url.split("/", 4)[-1].split("?")[0])  # type: ignore[attr-defined]
        sent[key] = {name.lower(): v if isinstance(v, bytes) else v.encode() for name, v in headers}

    s3.meta.events.register("before-send.s3.PutObject", watch)
    try:
        # When an upload is processed
        stack.upload("uploads/user-1/unsigned.jpg", images.photo_jpeg(640, 480, seed=5))
        assert stack.process(stack.drain(1)) == {"batchItemFailures": []}
    finally:
        s3.meta.events.unregister("before-send.s3.PutObject", watch)
    manifest = stack.manifest("unsigned")
    assert manifest is not None
    # Then every variant went unsigned, with the SHA-256 its manifest lists for S3 to check
    for variant in manifest["variants"]:
        headers = sent[variant["key"]]
        assert headers["x-amz-content-sha256"] == b"UNSIGNED-PAYLOAD"
        assert base64.b64decode(headers["x-amz-checksum-sha256"]).hex() == variant["sha256"]
    # And so did the manifest, with its own
    body = stack.read_output("metadata/unsigned/processing-info.json")
    headers = sent["metadata/unsigned/processing-info.json"]
    assert base64.b64decode(headers["x-amz-checksum-sha256"]) == hashlib.sha256(body).digest()
    assert len(sent) == len(VARIANT_NAMES) + 1
