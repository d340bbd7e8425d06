"""Two Lambda instances racing over one key or one imageId, staged request by request.

Each test pauses instance A at one precise request and, in that pause, lets S3 change or another
instance (B) run a whole record, as real concurrent instances would. Afterwards every complete
manifest must list exactly the stored bytes of its variants and describe its key's current upload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack, redelivered
from tests.integration.interleave import (
    Before,
    Crash,
    Instance,
    crash,
    dlq_reasons,
    invariant_violations,
    slow_down,
)
from tests.integration.staging import instances, run

pytestmark = pytest.mark.integration

KEY = "uploads/u1/race.jpg"


@pytest.fixture
def instance(stack: Stack) -> Iterator[Callable[[], Instance]]:
    """Make Lambda instances; all are closed at the end of the test, whatever happened."""
    yield from instances(stack)


def _output(stack: Stack, under: str, method: str = "PUT") -> Callable[[str], bool]:
    del method
    prefix = f"/{stack.topology.output_bucket}/{under}"
    return lambda url: prefix in url


def _input(stack: Stack, key: str) -> Callable[[str], bool]:
    source = f"/{stack.topology.input_bucket}/{key}"
    return lambda url: url.split("?")[0].endswith(source)


def _ending_hook(stack: Stack, ending: str) -> Before | None:
    """How A fails to finish after B's commit: it loses the race, its commit is throttled, or it dies."""
    manifest_put = _output(stack, "metadata/")
    if ending == "commit throttled":
        return Before(manifest_put, slow_down, nth=1, repeat=True)
    if ending == "crashes before its commit":
        return Before(manifest_put, crash)
    return None


@pytest.mark.parametrize("ending", ["loses the commit", "commit throttled", "crashes before its commit"])
def test_a_stale_writer_never_changes_a_newer_complete_result(
    stack: Stack, instance: Callable[[], Instance], ending: str
) -> None:
    # Given run A of v1, paused at its first variant write while v2 is uploaded and fully
    # processed by instance B
    stack.configure(AWS_MAX_ATTEMPTS="1")
    v1, v2 = images.photo_jpeg(640, 480, seed=1), images.photo_jpeg(480, 640, seed=2)
    ((_, event1),) = stack.upload_and_receive([(KEY, v1)]).values()
    a, b, later = instance(), instance(), instance()
    newer: dict[str, str] = {}

    async def v2_lands_and_commits() -> None:
        newer["etag"] = stack.upload(KEY, v2)
        assert await b.run(stack.drain(1)) == []

    async def scenario() -> list[str]:
        await a.hook(
            "s3", "before-send.s3.PutObject", Before(_output(stack, "processed/"), v2_lands_and_commits)
        )
        if (hook := _ending_hook(stack, ending)) is not None:
            await a.hook("s3", "before-send.s3.PutObject", hook)
        return await a.run([event1])

    # When A writes its variants anyway and then cannot finish
    if ending == "crashes before its commit":
        with pytest.raises(Crash):
            run(stack, scenario())
    else:
        left = run(stack, scenario())
        assert left == ([event1["MessageId"]] if ending == "commit throttled" else [])
    # and its record is delivered again, to a healthy instance
    assert run(stack, later.run([redelivered(event1)])) == []

    # Then v2's manifest still lists exactly v2's stored bytes
    assert invariant_violations(stack) == []
    stack.assert_consistent("race", "u1", newer["etag"], orphans_allowed=ending != "loses the commit")
    assert dlq_reasons(stack) == []


@pytest.mark.parametrize("ending", ["loses the commit", "crashes before its commit"])
def test_an_image_id_clash_never_puts_the_losers_bytes_under_the_winner(
    stack: Stack, instance: Callable[[], Instance], ending: str
) -> None:
    # Given dup.png on instance A and dup.jpg on instance B, both seeing "no manifest" first
    got = stack.upload_and_receive(
        [
            ("uploads/u1/dup.jpg", images.photo_jpeg(640, 480, seed=3)),
            ("uploads/u1/dup.png", images.photo_png()),
        ]
    )
    (jpg_etag, jpg), (_, png) = got["uploads/u1/dup.jpg"], got["uploads/u1/dup.png"]
    a, b, later = instance(), instance(), instance()

    async def jpg_commits() -> None:
        assert await b.run([jpg]) == []

    async def scenario() -> list[str]:
        await a.hook("s3", "before-send.s3.PutObject", Before(_output(stack, "processed/"), jpg_commits))
        if (hook := _ending_hook(stack, ending)) is not None:
            await a.hook("s3", "before-send.s3.PutObject", hook)
        return await a.run([png])

    # When the png writes its variants after the jpg committed, then loses (or dies)
    if ending == "crashes before its commit":
        with pytest.raises(Crash):
            run(stack, scenario())
        assert run(stack, later.run([redelivered(png)])) == []
    else:
        assert run(stack, scenario()) == []

    # Then the jpg's manifest lists the jpg's bytes, and the png is quarantined with its reason
    assert invariant_violations(stack) == []
    stack.assert_consistent("dup", "u1", jpg_etag, orphans_allowed=ending != "loses the commit")
    assert dlq_reasons(stack) == [("uploads/u1/dup.png", "ImageIdConflict")]


def test_a_source_deleted_before_its_read_is_quarantined_with_a_failed_manifest(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given an upload that is deleted as the run reads it
    ((_, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=4))]).values()
    a = instance()

    async def delete_source() -> None:
        stack.s3.delete_object(Bucket=stack.topology.input_bucket, Key=KEY)

    async def scenario() -> list[str]:
        await a.hook("s3", "before-send.s3.GetObject", Before(_input(stack, KEY), delete_source))
        return await a.run([event])

    # When the record is processed
    assert run(stack, scenario()) == []

    # Then it is quarantined as SourceMissing, with a failed manifest and no variants
    assert dlq_reasons(stack) == [(KEY, "SourceMissing")]
    manifest = stack.manifest("race")
    assert manifest is not None and manifest["status"] == "failed", manifest
    assert manifest["error"]["type"] == "SourceMissing"
    assert stack.output_keys("processed/") == []


def test_a_source_deleted_after_the_commit_leaves_the_complete_result(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given an upload that is deleted once its run has committed, as the run checks the key
    ((etag, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=4))]).values()
    a = instance()

    async def delete_source() -> None:
        stack.s3.delete_object(Bucket=stack.topology.input_bucket, Key=KEY)

    async def scenario() -> list[str]:
        await a.hook("s3", "before-send.s3.HeadObject", Before(_input(stack, KEY), delete_source))
        return await a.run([event])

    # When the record is processed
    assert run(stack, scenario()) == []

    # Then the render of those bytes is the upload's result: results outlive their source
    stack.assert_consistent("race", "u1", etag)
    assert dlq_reasons(stack) == []


def test_a_manifest_deleted_during_a_run_is_written_again(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given v1's complete results, and v2's run whose commit is conditional on v1's manifest
    a = instance()
    ((_, event1),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=5))]).values()
    assert run(stack, a.run([event1])) == []
    ((etag2, event2),) = stack.upload_and_receive([(KEY, images.photo_jpeg(480, 640, seed=6))]).values()
    manifest_key = "metadata/race/processing-info.json"

    async def operator_clears_metadata() -> None:
        stack.s3.delete_object(Bucket=stack.topology.output_bucket, Key=manifest_key)

    async def scenario() -> list[str]:
        await a.hook(
            "s3", "before-send.s3.PutObject", Before(_output(stack, "metadata/"), operator_clears_metadata)
        )
        return await a.run([event2])

    # When an operator deletes the manifest just before v2's commit
    assert run(stack, scenario()) == []

    # Then v2 is committed (not quarantined as SourceMissing) and v1's render is gone
    stack.assert_consistent("race", "u1", etag2)
    assert dlq_reasons(stack) == []


async def _stall(**_: Any) -> None:
    await asyncio.sleep(30)  # far past the invocation's deadline


def test_a_deadline_inside_the_result_publish_still_acknowledges_the_committed_image(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a result topic whose Publish hangs past the deadline of a 3 s invocation
    topic = stack.sns.create_topic(Name="it-results")["TopicArn"]
    stack.configure(IMGPIPE_RESULT_TOPIC_ARN=topic, IMGPIPE_RECORD_BUDGET_MS="1000")
    ((etag, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(400, 300, seed=7))]).values()
    a = instance()

    async def scenario() -> list[str]:
        await a.hook("sns", "before-send.sns.Publish", _stall)
        return await a.run([event], timeout_s=3)

    # When the deadline fires during the publish, after the commit
    # Then the record is acknowledged: its results are in place and a retry would only be a duplicate
    assert run(stack, scenario()) == []
    stack.assert_consistent("race", "u1", etag)


def test_a_deadline_right_after_the_dlq_send_leaves_one_dlq_entry(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a corrupt upload, and a stall in what follows its quarantine message (the ImageFailed
    # announcement)
    topic = stack.sns.create_topic(Name="it-results")["TopicArn"]
    stack.configure(IMGPIPE_RESULT_TOPIC_ARN=topic, IMGPIPE_RECORD_BUDGET_MS="1000")
    ((_, event),) = stack.upload_and_receive([("uploads/u1/broken.jpg", images.truncated_jpeg())]).values()
    a = instance()

    async def scenario() -> list[str]:
        await a.hook("sns", "before-send.sns.Publish", _stall)
        return await a.run([event], timeout_s=3)

    # When the deadline fires there
    # Then the record counts as handled, so no redelivery quarantines it a second time
    assert run(stack, scenario()) == []
    assert dlq_reasons(stack) == [("uploads/u1/broken.jpg", "CorruptImage")]


@pytest.mark.parametrize("second", ["good", "corrupt"])
def test_a_stale_commit_over_an_aba_duplicate_is_caught_up_before_acknowledging(
    stack: Stack, instance: Callable[[], Instance], second: str
) -> None:
    # Given v1's complete results, then an upload (good or corrupt) whose run A is paused at its
    # manifest write while v1's bytes are uploaded again and instance B acknowledges that event
    # as a duplicate of v1's manifest (same ETag)
    a, b = instance(), instance()
    v1 = images.photo_jpeg(640, 480, seed=8)
    ((etag1, event1),) = stack.upload_and_receive([(KEY, v1)]).values()
    assert run(stack, b.run([event1])) == []
    body = images.photo_jpeg(480, 640, seed=9) if second == "good" else images.truncated_jpeg()
    ((_, event2),) = stack.upload_and_receive([(KEY, body)]).values()

    async def v1_again_is_a_duplicate() -> None:
        assert stack.upload(KEY, v1) == etag1
        assert await b.run(stack.drain(1)) == []

    async def scenario() -> list[str]:
        hook = Before(_output(stack, "metadata/"), v1_again_is_a_duplicate)
        await a.hook("s3", "before-send.s3.PutObject", hook)
        return await a.run([event2])

    # When A's manifest (complete, or failed) lands over v1's after that
    assert run(stack, scenario()) == []

    # Then A saw the key hold v1 again and brought the results back to it before acknowledging
    assert invariant_violations(stack) == []
    stack.assert_consistent("race", "u1", etag1)
    assert dlq_reasons(stack) == ([] if second == "good" else [(KEY, "CorruptImage")])
