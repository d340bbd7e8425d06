"""One batch with everything a real queue delivers: good uploads, broken ones, noise and repeats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack, object_key, redelivered, with_body

pytestmark = pytest.mark.integration

GOOD = {
    "uploads/u1/good_1.jpg": images.photo_jpeg(640, 480, seed=21),
    "uploads/u2/good-2.jpg": images.photo_jpeg(480, 640, seed=22),
    "uploads/u1/snake_case-id.jpg": images.photo_jpeg(300, 200, seed=23),
    "uploads/u1/enc_id-x.jpg": images.photo_jpeg(320, 240, seed=24),
}
CORRUPT_KEY = "uploads/u1/corrupt.jpg"
TEXT_KEY = "uploads/u1/notes.jpg"
SPACE_KEY = "uploads/u1/my photo.jpg"


def test_mixed_batch_quarantines_permanent_failures_and_reports_nothing(stack: Stack) -> None:
    test_event = stack.test_event_message()
    uploads = {
        **GOOD,
        CORRUPT_KEY: images.truncated_jpeg(640, 480),
        TEXT_KEY: images.text_document(),
        SPACE_KEY: images.photo_jpeg(200, 150, seed=25),
    }
    received = stack.upload_and_receive(list(uploads.items()))
    by_key = {key: message for key, (_, message) in received.items()}
    etags = {key: etag for key, (etag, _) in received.items()}

    # how the keys travel: form-encoded, '+' for a space ('/' kept by AWS, '%2F' from moto)
    space_key = json.loads(by_key[SPACE_KEY]["Body"])["Records"][0]["s3"]["object"]["key"]
    assert "my+photo.jpg" in space_key and " " not in space_key
    assert unquote_plus(space_key) == SPACE_KEY

    # an encoder that also escapes '_' and '-' (legal): the decoded key is a valid upload key
    enc = by_key["uploads/u1/enc_id-x.jpg"]
    encoded_body = enc["Body"].replace("enc_id-x.jpg", "enc%5Fid%2Dx.jpg")
    assert encoded_body != enc["Body"]
    by_key["uploads/u1/enc_id-x.jpg"] = with_body(enc, encoded_body)
    assert object_key(by_key["uploads/u1/enc_id-x.jpg"]) == "uploads/u1/enc_id-x.jpg"

    duplicate = redelivered(by_key["uploads/u1/good_1.jpg"])
    batch = [test_event, *by_key.values(), duplicate]
    before = datetime.now(UTC)

    response = stack.process(batch)

    assert response == {"batchItemFailures": []}

    # ---- every good upload, including the duplicated one, has one consistent set of results
    for key, _ in GOOD.items():
        user_id, image_id = key.removeprefix("uploads/").removesuffix(".jpg").split("/")
        stack.assert_consistent(image_id, user_id, etags[key])

    # ---- the DLQ holds exactly the three permanent failures, bodies unchanged
    dlq = stack.dlq_messages()
    by_body = {m["Body"]: m for m in dlq}
    assert len(dlq) == 3, [m["MessageAttributes"]["imgpipe-object-key"]["StringValue"] for m in dlq]
    expected_types = {CORRUPT_KEY: "CorruptImage", TEXT_KEY: "UnsupportedFormat", SPACE_KEY: "InvalidKey"}
    for key, error_type in expected_types.items():
        original = by_key[key]["Body"]
        assert original in by_body, f"{key}: original body not found unchanged in the DLQ"
        attributes = {
            name: value["StringValue"] for name, value in by_body[original]["MessageAttributes"].items()
        }
        assert all(
            by_body[original]["MessageAttributes"][name]["DataType"] == "String" for name in attributes
        )
        assert attributes["imgpipe-error-type"] == error_type
        assert attributes["imgpipe-error-message"]
        assert attributes["imgpipe-source-queue"] == stack.topology.queue_arn
        assert attributes["imgpipe-receive-count"] == "1"
        assert attributes["imgpipe-object-key"] == key
        failed_at = datetime.fromisoformat(attributes["imgpipe-failed-at"].replace("Z", "+00:00"))
        assert before - timedelta(seconds=1) <= failed_at <= datetime.now(UTC) + timedelta(seconds=1)
    space_attributes = by_body[by_key[SPACE_KEY]["Body"]]["MessageAttributes"]
    assert "'uploads/u1/my photo.jpg'" in space_attributes["imgpipe-error-message"]["StringValue"]

    # ---- failed manifests for the broken images, none for the invalid key
    for key, error_type in ((CORRUPT_KEY, "CorruptImage"), (TEXT_KEY, "UnsupportedFormat")):
        image_id = key.removeprefix("uploads/u1/").removesuffix(".jpg")
        manifest = stack.manifest(image_id)
        assert manifest is not None, key
        assert manifest["status"] == "failed"
        assert manifest["error"]["type"] == error_type
        assert manifest["error"]["message"]
        assert manifest["source"]["key"] == key
        assert manifest["source"]["etag"] == etags[key]
        assert manifest["variants"] == []
        assert stack.output_keys(f"processed/u1/{image_id}/") == []

    expected_manifests = sorted(
        f"metadata/{image_id}/processing-info.json"
        for image_id in ("good_1", "good-2", "snake_case-id", "enc_id-x", "corrupt", "notes")
    )
    assert stack.output_keys("metadata/") == expected_manifests
    assert not [key for key in stack.output_keys() if "photo" in key or " " in key]
    assert len(stack.output_keys("processed/")) == 5 * len(GOOD)

    # ---- the work queue itself holds nothing else (every message was in the batch)
    assert stack.take_all(stack.topology.queue_url) == []


HOSTILE = {
    "uploads/h/empty.jpg": (b"", "CorruptImage"),
    "uploads/h/vector.png": (images.svg_document(), "UnsupportedFormat"),
    "uploads/h/noise.webp": (images.random_bytes(), "UnsupportedFormat"),
    "uploads/h/png_bomb.png": (images.png_header_bomb(), "ImageTooLarge"),
    "uploads/h/jpeg_bomb.jpg": (images.jpeg_header_bomb(), "ImageTooLarge"),
}


def test_hostile_uploads_are_quarantined_with_their_reason(stack: Stack) -> None:
    received = stack.upload_and_receive([(key, data) for key, (data, _) in HOSTILE.items()])

    assert stack.process([m for _, m in received.values()]) == {"batchItemFailures": []}

    types = {}
    for message in stack.dlq_messages():
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        types[attributes["imgpipe-object-key"]] = attributes["imgpipe-error-type"]
        assert message["Body"] == received[attributes["imgpipe-object-key"]][1]["Body"]
    assert types == {key: error for key, (_, error) in HOSTILE.items()}
    for key, (_, error) in HOSTILE.items():
        image_id = key.split("/")[-1].split(".")[0]
        manifest = stack.manifest(image_id)
        assert manifest is not None and manifest["status"] == "failed", key
        assert manifest["error"]["type"] == error, key
    assert stack.output_keys("processed/") == []


def test_without_a_dlq_permanent_failures_are_left_to_the_queue_redrive(stack: Stack) -> None:
    stack.configure(IMGPIPE_DLQ_URL=None)
    received = stack.upload_and_receive(
        [("uploads/u1/broken.jpg", images.truncated_jpeg()), ("uploads/u1/fine.jpg", images.tiny_jpeg())]
    )

    response = stack.process([m for _, m in received.values()])

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        received["uploads/u1/broken.jpg"][1]["MessageId"]
    ]
    assert stack.dlq_messages() == []
    stack.assert_consistent("fine", "u1", received["uploads/u1/fine.jpg"][0])
