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


def test_the_current_upload_wins_when_an_older_run_commits_first(stack: Stack) -> None:
    # Given v2 of a key whose run finds no manifest, and v1's run committing just before v2's
    ((_, event1),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=1))]).values()
    assert stack.process([event1]) == {"batchItemFailures": []}
    v1_results = _snapshot(stack, "")
    for key in v1_results:
        stack.s3.delete_object(Bucket=stack.topology.output_bucket, Key=key)
    ((etag2, event2),) = stack.upload_and_receive([(KEY, images.photo_jpeg(480, 640, seed=2))]).values()
    manifest_url = f"/{stack.topology.output_bucket}/{_manifest_key('race')}"
    stack.inject(
        Fault("PutObject", lambda url: manifest_url in url, fail=_once(lambda: _restore(stack, v1_results)))
    )
    # When v2's record is processed
    response = stack.process([event2])
    # Then it is not acknowledged as superseded: the outputs describe v2, consistently
    assert response == {"batchItemFailures": []}
    stack.assert_consistent("race", "u1", etag2)
    assert stack.dlq_messages() == []


def test_a_stale_run_that_overwrote_newer_variants_repairs_them(stack: Stack) -> None:
    # Given v2's complete results, and a v1 run that passed its freshness check before v2 existed
    v1, v2 = images.photo_jpeg(640, 480, seed=3), images.photo_jpeg(480, 640, seed=4)
    ((etag1, event1),) = stack.upload_and_receive([(KEY, v1)]).values()
    ((etag2, event2),) = stack.upload_and_receive([(KEY, v2)]).values()
    assert stack.process([event2]) == {"batchItemFailures": []}
    v2_results = _snapshot(stack, "")
    for key in v2_results:
        stack.s3.delete_object(Bucket=stack.topology.output_bucket, Key=key)
    assert stack.upload(KEY, v1) == etag1  # the key holds v1 again while v1's run checks it

    def v2_lands_and_commits() -> None:
        stack.upload(KEY, v2)
        _restore(stack, v2_results)

    variants_url = f"/{stack.topology.output_bucket}/processed/u1/race/"
    stack.inject(Fault("PutObject", lambda url: variants_url in url, fail=_once(v2_lands_and_commits)))
    # When v1's stale run writes its variants over v2's, then loses the manifest commit
    response = stack.process([event1])
    # Then it reprocesses the key's current upload, so the outputs are v2's again, byte for byte
    assert response == {"batchItemFailures": []}
    stack.assert_consistent("race", "u1", etag2)


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
