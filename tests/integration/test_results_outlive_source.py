"""Results outlive their source: a complete result is never turned into a failure for want of it.

Originals go away after they are processed (the bucket's lifecycle expiry, or an app deleting
what it no longer needs) while at-least-once copies of their events, and redrives of old DLQ
messages, can still arrive. A copy of an upload that already has a complete result for the same
source and configuration is a duplicate, whether or not the source is still there; a race that
ends in `SourceMissing` never writes a failure over such a result either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack, redelivered
from tests.integration.interleave import Before, Instance, dlq_reasons
from tests.integration.staging import delete_source, instances, output, redriven, run, source

pytestmark = pytest.mark.integration

KEY = "uploads/u1/kept.jpg"


@pytest.fixture
def instance(stack: Stack) -> Iterator[Callable[[], Instance]]:
    yield from instances(stack)


@pytest.mark.parametrize("late", ["duplicate", "redrive"])
def test_a_late_event_after_the_source_is_gone_leaves_the_complete_result(
    stack: Stack, instance: Callable[[], Instance], late: str
) -> None:
    # Given an upload processed to a complete result, and its original deleted afterwards
    ((etag, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=11))]).values()
    assert run(stack, instance().run([event])) == []
    before = stack.assert_consistent("kept", "u1", etag)
    delete_source(stack, KEY)
    # When an at-least-once copy of its event arrives, or an old DLQ message of it is redriven
    copy = redelivered(event) if late == "duplicate" else redriven(event)
    assert run(stack, instance().run([copy])) == []
    # Then it is a duplicate: the manifest and every variant it lists stay, nothing is quarantined
    assert stack.assert_consistent("kept", "u1", etag) == before
    assert dlq_reasons(stack) == []


def test_a_run_that_finds_the_source_gone_keeps_the_complete_result_committed_meanwhile(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given run A of an upload, paused at its read of the source while instance B processes a
    # duplicate of the same event to a complete result, and the app then deletes the original
    ((etag, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=12))]).values()
    a, b = instance(), instance()

    async def b_completes_then_the_source_goes() -> None:
        assert await b.run([redelivered(event)]) == []
        delete_source(stack, KEY)

    async def scenario() -> list[str]:
        hook = Before(source(stack, KEY), b_completes_then_the_source_goes)
        await a.hook("s3", "before-send.s3.GetObject", hook)
        return await a.run([event])

    # When A's read finds the source gone (SourceMissing)
    assert run(stack, scenario()) == []
    # Then B's result stays: a failure of the same upload never replaces its complete result
    stack.assert_consistent("kept", "u1", etag)
    assert dlq_reasons(stack) == []


def test_a_failure_whose_write_races_a_complete_result_of_the_same_upload_keeps_it(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given run B of an upload paused at its commit, its source deleted, and run A of a duplicate
    # that finds the source gone, reads "no manifest" and is about to write its failed manifest
    ((etag, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=13))]).values()
    a, b = instance(), instance()
    b_at_commit, b_may_commit = asyncio.Event(), asyncio.Event()

    async def pause_b() -> None:
        b_at_commit.set()
        await b_may_commit.wait()

    async def scenario() -> list[str]:
        await b.hook("s3", "before-send.s3.PutObject", Before(output(stack, "metadata/"), pause_b))
        b_run = asyncio.ensure_future(b.run([event]))

        async def b_commits_first() -> None:
            b_may_commit.set()
            assert await b_run == []

        await b_at_commit.wait()
        delete_source(stack, KEY)
        await a.hook("s3", "before-send.s3.PutObject", Before(output(stack, "metadata/"), b_commits_first))
        return await a.run([redelivered(event)])

    # When B's complete manifest lands just before A's failed one
    assert run(stack, scenario()) == []
    # Then A's conditional write is refused, and on reading again A finds a complete result of
    # its own upload: it is a duplicate, not a failure
    stack.assert_consistent("kept", "u1", etag)
    assert dlq_reasons(stack) == []


def test_a_late_event_of_an_older_upload_after_the_key_was_deleted_leaves_the_newer_result(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given v1 replaced by v2, v2 processed to a complete result, then the key deleted
    ((_, event1),) = stack.upload_and_receive([(KEY, images.photo_jpeg(640, 480, seed=14))]).values()
    ((etag2, event2),) = stack.upload_and_receive([(KEY, images.photo_jpeg(480, 640, seed=15))]).values()
    assert run(stack, instance().run([event2])) == []
    before = stack.assert_consistent("kept", "u1", etag2)
    delete_source(stack, KEY)
    # When v1's event arrives late and finds its source gone
    assert run(stack, instance().run([event1])) == []
    # Then v1's failure is reported, but not written over v2's result: with the key empty, which
    # upload was newer cannot be told, so a failure never replaces another upload's result
    assert dlq_reasons(stack) == [(KEY, "SourceMissing")]
    assert stack.assert_consistent("kept", "u1", etag2) == before
