"""Races between runs over one key or one imageId, and side channels that must not hurt results.

Each test stages the interleaving with a before-send hook that, at one precise request of the
run under test, makes another run's writes appear (as S3 would show them).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import images
from tests.integration.conftest import Fault, Stack

pytestmark = pytest.mark.integration

KEY = "uploads/u1/race.jpg"


def _manifest_key(image_id: str) -> str:
    return f"metadata/{image_id}/processing-info.json"


def _snapshot(stack: Stack, prefix: str) -> dict[str, bytes]:
    return {key: stack.read_output(key) for key in stack.output_keys(prefix)}


def _restore(stack: Stack, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        stack.s3.put_object(Bucket=stack.topology.output_bucket, Key=key, Body=body)


def _once(action: Any) -> Any:
    def fail(n: int) -> bool:
        if n == 1:
            action()
        return False

    return fail


def test_a_missing_result_topic_does_not_fail_a_processed_image(stack: Stack) -> None:
    stack.configure(IMGPIPE_RESULT_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:deleted-topic")
    ((etag, message),) = stack.upload_and_receive(
        [("uploads/u2/ok.jpg", images.photo_jpeg(400, 300))]
    ).values()
    assert stack.process([message]) == {"batchItemFailures": []}
    stack.assert_consistent("ok", "u2", etag)
    assert stack.dlq_messages() == []


def test_a_failed_upload_never_replaces_another_users_complete_manifest(stack: Stack) -> None:
    # Given Alice's complete image, committed while Bob's corrupt upload of the same imageId was
    # between reading "no manifest" and writing his failed one
    got = stack.upload_and_receive(
        [
            ("uploads/alice/shared.jpg", images.photo_jpeg(400, 300, seed=5)),
            ("uploads/bob/shared.jpg", images.truncated_jpeg(400, 300)),
        ]
    )
    (alice_etag, alice), (_, bob) = got["uploads/alice/shared.jpg"], got["uploads/bob/shared.jpg"]
    assert stack.process([alice]) == {"batchItemFailures": []}
    alice_manifest = {_manifest_key("shared"): stack.read_output(_manifest_key("shared"))}
    stack.s3.delete_object(Bucket=stack.topology.output_bucket, Key=_manifest_key("shared"))
    bob_source = f"/{stack.topology.input_bucket}/uploads/bob/shared.jpg"
    stack.inject(
        Fault("GetObject", lambda url: bob_source in url, fail=_once(lambda: _restore(stack, alice_manifest)))
    )
    # When Bob's record is quarantined
    assert stack.process([bob]) == {"batchItemFailures": []}
    # Then Alice's manifest and variants are untouched, and Bob's reason is in the DLQ
    stack.assert_consistent("shared", "alice", alice_etag)
    (quarantined,) = stack.dlq_messages()
    assert quarantined["MessageAttributes"]["imgpipe-object-key"]["StringValue"] == "uploads/bob/shared.jpg"
