"""At-least-once, any order, crash anywhere: the outputs still end as one consistent set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import images
from tests.integration.conftest import VARIANT_NAMES, Fault, Stack, failed_ids, redelivered

pytestmark = pytest.mark.integration


def _count_puts(stack: Stack, under: str = "processed/") -> Fault:
    """Count (never fail) PutObject calls to the output bucket under `under`."""
    prefix = f"/{stack.topology.output_bucket}/{under}"
    return stack.inject(Fault("PutObject", lambda url: prefix in url, fail=lambda n: False))


def _last_modified(stack: Stack) -> dict[str, Any]:
    return {key: stack.head_output(key)["LastModified"] for key in stack.output_keys()}


def test_same_event_again_and_redriven_copy_are_duplicates(stack: Stack) -> None:
    key = "uploads/u1/dup.jpg"
    ((etag, message),) = stack.upload_and_receive([(key, images.photo_jpeg(500, 400, seed=41))]).values()
    puts = _count_puts(stack, under="")

    assert stack.process([message]) == {"batchItemFailures": []}
    assert puts.calls == len(VARIANT_NAMES) + 1  # the variants, then the manifest
    first = stack.assert_consistent("dup", "u1", etag)
    stamps = _last_modified(stack)

    # Lambda delivers the very same message again (e.g. the batch timed out after this record)
    assert stack.process([message]) == {"batchItemFailures": []}
    # an operator redrives it from a DLQ: same body, new messageId
    assert stack.process([redelivered(message)]) == {"batchItemFailures": []}

    assert puts.calls == len(VARIANT_NAMES) + 1, puts.urls
    assert _last_modified(stack) == stamps
    assert stack.manifest("dup") == first
    assert stack.dlq_messages() == []


def test_stale_event_processed_after_the_newer_upload_changes_nothing(stack: Stack) -> None:
    key = "uploads/u1/photo.jpg"
    v1 = images.photo_jpeg(640, 480, seed=51)
    v2 = images.photo_jpeg(480, 640, seed=52)
    ((etag1, event1),) = stack.upload_and_receive([(key, v1)]).values()
    ((etag2, event2),) = stack.upload_and_receive([(key, v2)]).values()
    assert etag1 != etag2

    assert stack.process([event2]) == {"batchItemFailures": []}
    manifest = stack.assert_consistent("photo", "u1", etag2)
    stamps = _last_modified(stack)
    puts = _count_puts(stack, under="")

    assert stack.process([event1]) == {"batchItemFailures": []}

    assert puts.calls == 0, puts.urls
    assert stack.manifest("photo") == manifest
    assert _last_modified(stack) == stamps
    assert manifest["source"]["bytes"] == len(v2)
    assert (manifest["source"]["width"], manifest["source"]["height"]) == (480, 640)
    assert stack.dlq_messages() == []


def test_both_versions_in_one_batch_end_with_the_newer_one(stack: Stack) -> None:
    key = "uploads/u1/again.jpg"
    ((etag1, event1),) = stack.upload_and_receive([(key, images.photo_jpeg(640, 480, seed=53))]).values()
    ((etag2, event2),) = stack.upload_and_receive([(key, images.photo_jpeg(480, 640, seed=54))]).values()

    assert stack.process([event1, event2]) == {"batchItemFailures": []}
    stack.assert_consistent("again", "u1", etag2)
    assert stack.dlq_messages() == []


def test_crash_after_three_of_five_variants_then_retry_gives_one_consistent_set(stack: Stack) -> None:
    stack.configure(AWS_MAX_ATTEMPTS="1")
    key = "uploads/u1/crashy.jpg"
    ((etag, message),) = stack.upload_and_receive([(key, images.photo_jpeg(900, 700, seed=61))]).values()
    prefix = f"/{stack.topology.output_bucket}/processed/"
    # every variant write after the third fails, on every attempt of this invocation
    crash = stack.inject(Fault("PutObject", lambda url: prefix in url, fail=lambda n: n > 3))

    response = stack.process([message])

    assert failed_ids(response) == [message["MessageId"]]
    # each put is retried on its own: 3 land at once, the other 2 fail all 4 attempts
    unlucky = len(VARIANT_NAMES) - 3
    assert (crash.calls, crash.failed) == (3 + 4 * unlucky, 4 * unlucky)
    assert stack.manifest("crashy") is None
    # no manifest can list the unfinished render, so the 3 that landed were removed again
    assert stack.output_keys("processed/u1/crashy/") == []
    assert stack.output_keys("metadata/") == []
    assert stack.dlq_messages() == []

    stack.remove(crash)
    calls = crash.calls
    assert stack.process([message]) == {"batchItemFailures": []}
    assert crash.calls == calls  # unregistered: the retry did not go through the hook
    stack.assert_consistent("crashy", "u1", etag)
    assert stack.dlq_messages() == []


def test_upload_replaced_during_render_ends_with_the_newer_upload(stack: Stack) -> None:
    key = "uploads/u1/raced.jpg"
    v2 = images.photo_jpeg(480, 640, seed=72)
    ((_, event1),) = stack.upload_and_receive([(key, images.photo_jpeg(640, 480, seed=71))]).values()
    variants = f"/{stack.topology.output_bucket}/processed/"
    replaced: list[str] = []

    def replace_first(n: int) -> bool:
        # runs as the first variant write (after the render) goes out: a newer upload lands first
        if n == 1:
            replaced.append(stack.upload(key, v2))
        return False

    stack.inject(Fault("PutObject", lambda url: variants in url, fail=replace_first))

    # v1's run commits, finds the key holds v2, and catches up before it is acknowledged
    assert stack.process([event1]) == {"batchItemFailures": []}
    assert len(replaced) == 1
    stack.assert_consistent("raced", "u1", replaced[0])
    assert stack.dlq_messages() == []

    # so v2's own event is a duplicate: no image work
    ((event2),) = stack.drain(1)
    puts = _count_puts(stack, under="")
    assert stack.process([event2]) == {"batchItemFailures": []}
    assert puts.calls == 0
    stack.assert_consistent("raced", "u1", replaced[0])


def test_changed_variant_configuration_is_not_a_duplicate(stack: Stack) -> None:
    key = "uploads/u1/reconf.jpg"
    ((etag, message),) = stack.upload_and_receive([(key, images.photo_jpeg(500, 400, seed=81))]).values()
    assert stack.process([message]) == {"batchItemFailures": []}
    before = stack.assert_consistent("reconf", "u1", etag)

    stack.configure(IMGPIPE_VARIANTS='[{"name": "tiny", "width": 64, "height": 64}]')
    assert stack.process([message]) == {"batchItemFailures": []}

    after = stack.manifest("reconf")
    assert after is not None and after["status"] == "complete"
    assert after["pipeline"]["configHash"] != before["pipeline"]["configHash"]
    (tiny,) = after["variants"]
    render = after["pipeline"]["renderId"]
    assert render != before["pipeline"]["renderId"]
    assert (tiny["name"], tiny["key"], tiny["width"], tiny["height"]) == (
        "tiny",
        f"processed/u1/reconf/{render}/tiny.jpg",
        64,
        51,
    )
    # the five variants the old manifest listed were removed once the new one was committed
    assert stack.output_keys("processed/u1/reconf/") == [tiny["key"]]
    import hashlib

    assert hashlib.sha256(stack.read_output(tiny["key"])).hexdigest() == tiny["sha256"]

    # and the same event under the new configuration is again a duplicate
    puts = _count_puts(stack, under="")
    assert stack.process([message]) == {"batchItemFailures": []}
    assert puts.calls == 0


def test_same_upload_twice_in_one_batch_is_rendered_and_written_once(stack: Stack) -> None:
    key = "uploads/u1/twice.jpg"
    ((etag, message),) = stack.upload_and_receive([(key, images.photo_jpeg(500, 400, seed=91))]).values()
    puts = _count_puts(stack, under="")

    assert stack.process([message, redelivered(message)]) == {"batchItemFailures": []}

    assert puts.calls == len(VARIANT_NAMES) + 1, puts.urls
    stack.assert_consistent("twice", "u1", etag)
    assert stack.dlq_messages() == []
