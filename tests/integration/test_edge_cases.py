"""Less common paths through the real stack: limits, deleted sources, id clashes, SNS envelopes."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import pytest
from PIL import Image

from tests.fixtures import images
from tests.fixtures.pixels import pixel
from tests.integration.conftest import Fault, Stack, failed_ids, redelivered

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageTypeDef

pytestmark = pytest.mark.integration


def _dlq_types(stack: Stack) -> dict[str, str]:
    """{object key: error type} of everything in the DLQ."""
    found = {}
    for message in stack.dlq_messages():
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        found[attributes.get("imgpipe-object-key", "")] = attributes["imgpipe-error-type"]
    return found


def test_limits_quarantine_too_large_images(stack: Stack) -> None:
    stack.configure(IMGPIPE_MAX_BYTES="20000", IMGPIPE_MAX_PIXELS="100000")
    big_file = images.photo_jpeg(600, 450, seed=101)
    many_pixels = images.photo_jpeg(400, 300, quality=10, seed=102)  # 120000 px in few bytes
    assert len(big_file) > 20000 and len(many_pixels) < 20000
    received = stack.upload_and_receive(
        [
            ("uploads/u1/heavy.jpg", big_file),
            ("uploads/u1/wide.jpg", many_pixels),
            ("uploads/u1/fits.jpg", images.photo_jpeg(300, 200, quality=50, seed=103)),
        ]
    )

    assert stack.process([m for _, m in received.values()]) == {"batchItemFailures": []}

    assert _dlq_types(stack) == {
        "uploads/u1/heavy.jpg": "ImageTooLarge",
        "uploads/u1/wide.jpg": "ImageTooLarge",
    }
    for image_id in ("heavy", "wide"):
        manifest = stack.manifest(image_id)
        assert manifest is not None and manifest["status"] == "failed"
        assert manifest["error"]["type"] == "ImageTooLarge"
    stack.assert_consistent("fits", "u1", received["uploads/u1/fits.jpg"][0])
    assert stack.output_keys("processed/") == stack.output_keys("processed/u1/fits/")


def test_source_deleted_before_processing_is_quarantined_as_missing(stack: Stack) -> None:
    key = "uploads/u1/gone.jpg"
    ((_, message),) = stack.upload_and_receive([(key, images.photo_jpeg(300, 200, seed=104))]).values()
    stack.s3.delete_object(Bucket=stack.topology.input_bucket, Key=key)

    assert stack.process([message]) == {"batchItemFailures": []}

    assert _dlq_types(stack) == {key: "SourceMissing"}
    assert stack.output_keys("processed/") == []


def test_reupload_after_a_failure_replaces_the_failed_manifest(stack: Stack) -> None:
    key = "uploads/u1/retry_me.jpg"
    ((bad_etag, bad),) = stack.upload_and_receive([(key, images.truncated_jpeg(400, 300))]).values()
    assert stack.process([bad]) == {"batchItemFailures": []}
    failed = stack.manifest("retry_me")
    assert failed is not None and failed["status"] == "failed" and failed["source"]["etag"] == bad_etag
    (dead,) = stack.dlq_messages()
    assert dead["Body"] == bad["Body"]

    ((good_etag, good),) = stack.upload_and_receive([(key, images.photo_jpeg(400, 300, seed=105))]).values()
    assert stack.process([good]) == {"batchItemFailures": []}
    stack.assert_consistent("retry_me", "u1", good_etag)

    # an operator now redrives the old DLQ message: it names the replaced version, so nothing happens
    redrive = redelivered({**bad, "Body": dead["Body"]})
    assert stack.process([redrive]) == {"batchItemFailures": []}
    stack.assert_consistent("retry_me", "u1", good_etag)
    assert stack.dlq_messages() == []


def test_image_id_of_another_user_is_a_conflict_not_an_overwrite(stack: Stack) -> None:
    first = stack.upload_and_receive([("uploads/alice/pic.jpg", images.photo_jpeg(400, 300, seed=106))])
    ((alice_etag, alice),) = first.values()
    assert stack.process([alice]) == {"batchItemFailures": []}
    before = stack.assert_consistent("pic", "alice", alice_etag)

    ((_, bob),) = stack.upload_and_receive(
        [("uploads/bob/pic.jpg", images.photo_jpeg(300, 400, seed=107))]
    ).values()
    assert stack.process([bob]) == {"batchItemFailures": []}

    assert _dlq_types(stack) == {"uploads/bob/pic.jpg": "ImageIdConflict"}
    assert stack.manifest("pic") == before
    assert stack.output_keys("processed/bob/") == []


def test_image_id_clash_within_one_batch_is_detected(stack: Stack) -> None:
    # Regression: the ownership check and the manifest write used to race within a batch, so both
    # users' uploads were processed, the last manifest won and nothing was quarantined.
    received = stack.upload_and_receive(
        [
            ("uploads/carol/same.jpg", images.photo_jpeg(400, 300, seed=108)),
            ("uploads/dave/same.jpg", images.photo_jpeg(300, 400, seed=109)),
        ]
    )

    assert stack.process([m for _, m in received.values()]) == {"batchItemFailures": []}

    manifest = stack.manifest("same")
    assert manifest is not None and manifest["status"] == "complete"
    owner = manifest["userId"]
    other = "dave" if owner == "carol" else "carol"
    assert _dlq_types(stack) == {f"uploads/{other}/same.jpg": "ImageIdConflict"}
    assert stack.output_keys(f"processed/{other}/") == []


def test_sns_envelope_without_raw_delivery_is_unwrapped(stack: Stack) -> None:
    url = stack.sqs.create_queue(QueueName="it-enveloped")["QueueUrl"]
    arn = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.sns.subscribe(TopicArn=stack.topology.topic_arn, Protocol="sqs", Endpoint=arn)
    etag = stack.upload("uploads/u1/wrapped.jpg", images.photo_jpeg(400, 300, seed=110))
    messages: list[MessageTypeDef] = []
    deadline = time.monotonic() + 10
    while not messages and time.monotonic() < deadline:
        messages = stack.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
    (message,) = messages
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == stack.topology.topic_arn
    notification = json.loads(envelope["Message"])
    assert unquote_plus(notification["Records"][0]["s3"]["object"]["key"]) == "uploads/u1/wrapped.jpg"

    from deploy.local.esm import lambda_event

    response = stack.invoke(lambda_event([message], arn, stack.server.region))

    assert response == {"batchItemFailures": []}
    stack.assert_consistent("wrapped", "u1", etag)


def test_record_cut_off_at_the_deadline_is_reported_without_a_manifest(stack: Stack) -> None:
    stack.configure(IMGPIPE_RECORD_BUDGET_MS="100")
    ((_, message),) = stack.upload_and_receive(
        [("uploads/u1/stuck.jpg", images.photo_jpeg(400, 300, seed=111))]
    ).values()
    output = f"/{stack.topology.output_bucket}/processed/"
    stalled: list[str] = []

    async def stall(request: Any, **_: Any) -> None:
        if output in request.url:
            stalled.append(request.url)
            await asyncio.sleep(30)

    stack.clients().s3.meta.events.register("before-send.s3.PutObject", stall)

    started = time.monotonic()
    response = stack.process([message], timeout_s=2)
    elapsed = time.monotonic() - started

    assert failed_ids(response) == [message["MessageId"]]
    assert stalled, "the variant writes never started"
    assert elapsed < 2, f"handler answered after {elapsed:.2f}s, past the 2s function timeout"
    assert stack.manifest("stuck") is None
    assert stack.dlq_messages() == []


@pytest.mark.parametrize(
    ("variants", "fmt", "suffix", "content_type"),
    [
        (None, "jpeg", "jpg", "image/jpeg"),
        ('[{"name": "large", "width": 64, "height": 64, "format": "auto"}]', "webp", "webp", "image/webp"),
    ],
    ids=["defaults-jpeg", "auto-webp"],
)
def test_alpha_upload_variants_carry_their_format_and_content_type(
    stack: Stack, variants: str | None, fmt: str, suffix: str, content_type: str
) -> None:
    import hashlib

    if variants is not None:
        stack.configure(IMGPIPE_VARIANTS=variants)
    ((etag, message),) = stack.upload_and_receive([("uploads/u1/logo.png", images.rgba_png())]).values()

    assert stack.process([message]) == {"batchItemFailures": []}

    manifest = stack.manifest("logo")
    assert manifest is not None and manifest["status"] == "complete"
    assert (manifest["source"]["format"], manifest["source"]["etag"]) == ("png", etag)
    for variant in manifest["variants"]:
        assert variant["format"] == fmt
        render = manifest["pipeline"]["renderId"]
        assert variant["key"] == f"processed/u1/logo/{render}/{variant['name']}.{suffix}"
        head = stack.head_output(variant["key"])
        assert head["ContentType"] == content_type
        stored = stack.read_output(variant["key"])
        assert hashlib.sha256(stored).hexdigest() == variant["sha256"]
        # the transparent right half: white under the JPEG defaults, still transparent under auto
        picture = Image.open(io.BytesIO(stored))
        clear = pixel(picture, (3 * picture.width // 4, picture.height // 2))
        assert clear[3] <= 5 if fmt == "webp" else all(c >= 245 for c in clear), clear
    assert stack.output_keys("processed/") == sorted(v["key"] for v in manifest["variants"])


def test_dlq_records_how_often_the_message_was_received(stack: Stack) -> None:
    ((_, first),) = stack.upload_and_receive([("uploads/u1/bad name.jpg", images.tiny_jpeg())]).values()
    stack.sqs.change_message_visibility(
        QueueUrl=stack.topology.queue_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    (second,) = stack.drain(1)
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"

    assert stack.process([second]) == {"batchItemFailures": []}

    (dead,) = stack.dlq_messages()
    assert dead["Body"] == first["Body"]
    assert dead["MessageAttributes"]["imgpipe-receive-count"]["StringValue"] == "2"
    assert dead["MessageAttributes"]["imgpipe-error-type"]["StringValue"] == "InvalidKey"


def test_overwrite_with_null_version_ids_is_not_a_duplicate(stack: Stack) -> None:
    # Regression: Manifest.covers matched on version id alone, and S3 gives every upload to a
    # versioning-suspended bucket the version id "null", so an overwrite was skipped as a duplicate.
    from tests.integration.conftest import with_body

    def null_version(message: dict[str, Any]) -> dict[str, Any]:
        body = json.loads(message["Body"])
        body["Records"][0]["s3"]["object"]["versionId"] = "null"
        return with_body(message, json.dumps(body))

    key = "uploads/u1/suspended.jpg"
    ((_, v1),) = stack.upload_and_receive([(key, images.photo_jpeg(400, 300, seed=121))]).values()
    assert stack.process([null_version(v1)]) == {"batchItemFailures": []}
    ((etag2, v2),) = stack.upload_and_receive([(key, images.photo_jpeg(300, 400, seed=122))]).values()

    assert stack.process([null_version(v2)]) == {"batchItemFailures": []}

    stack.assert_consistent("suspended", "u1", etag2)


def test_manifest_written_by_another_invocation_meanwhile_is_not_overwritten(stack: Stack) -> None:
    from shared.manifest import Manifest, PipelineRecord, SourceRecord

    ((_, erin),) = stack.upload_and_receive(
        [("uploads/erin/shared_id.jpg", images.photo_jpeg(400, 300, seed=131))]
    ).values()
    theirs = Manifest(
        status="complete",
        image_id="shared_id",
        user_id="frank",
        source=SourceRecord(
            bucket=stack.topology.input_bucket, key="uploads/frank/shared_id.jpg", etag="f" * 32
        ),
        pipeline=PipelineRecord(config_hash="another-invocation"),
    ).to_json()
    manifest_url = f"/{stack.topology.output_bucket}/metadata/shared_id/processing-info.json"

    def other_invocation_commits_first(n: int) -> bool:
        if n == 1:  # between this run's manifest read and its manifest write
            stack.s3.put_object(
                Bucket=stack.topology.output_bucket,
                Key="metadata/shared_id/processing-info.json",
                Body=theirs,
                ContentType="application/json",
            )
        return False

    stack.inject(Fault("PutObject", lambda url: manifest_url in url, fail=other_invocation_commits_first))

    assert stack.process([erin]) == {"batchItemFailures": []}

    assert stack.read_output("metadata/shared_id/processing-info.json") == theirs
    assert _dlq_types(stack) == {"uploads/erin/shared_id.jpg": "ImageIdConflict"}
