"""Workers meeting a deleted image: every event that still arrives for an upload the owner
deleted (a late at-least-once copy, a DLQ redrive, `imgpipe reprocess`'s re-queued event, a
render in flight) is acknowledged without image work, a failed manifest or a DLQ entry, and
leaves nothing behind; a new upload to the key after the deletion is processed as any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from deploy.local.topology import Topology
from deploy.ops import reprocess
from shared.manifest import parse_time
from tests.fixtures import images
from tests.integration.conftest import REGION, Stack, redelivered, with_body
from tests.integration.deleting import IMAGE, KEY, USER, assert_gone, delete, processed, tombstone
from tests.integration.interleave import Before, Instance, dlq_reasons
from tests.integration.staging import instances, output, redriven, run, source

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


@pytest.fixture
def instance(stack: Stack) -> Iterator[Callable[[], Instance]]:
    yield from instances(stack)


def _copy(stack: Stack, event: dict[str, Any], etag: str, late: str) -> dict[str, Any]:
    if late == "redrive":
        return redriven(event)
    if late == "reprocess":  # the event `imgpipe reprocess` would have queued for the upload
        upload = reprocess.Upload(KEY, etag, 1, USER, IMAGE)
        return with_body(
            redelivered(event), reprocess.event_body(stack.topology.input_bucket, upload, REGION)
        )
    return redelivered(event)


@pytest.mark.parametrize("late", ["duplicate", "redrive", "reprocess"])
def test_a_late_event_of_a_deleted_image_is_acknowledged_and_writes_nothing(
    stack: Stack, instance: Callable[[], Instance], late: str
) -> None:
    # Given a processed image its owner deleted
    etag, event = processed(stack, instance)
    assert delete(stack) == "deleted"
    gone = tombstone(stack)
    # When a copy of its event arrives: an at-least-once duplicate, a DLQ redrive, or the same
    # upload re-queued as `imgpipe reprocess` sends it
    assert run(stack, instance().run([_copy(stack, event, etag, late)])) == []
    # Then it is acknowledged as deleted: no render, no failed manifest, no DLQ entry
    assert assert_gone(stack) == gone
    assert dlq_reasons(stack) == []


def test_an_event_between_the_tombstone_and_the_uploads_removal_is_acknowledged(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given an upload whose deletion has written its tombstone but not yet removed the upload
    ((_, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(320, 240, seed=9))]).values()
    deleter = stack.session.client("s3")
    seen: list[list[str]] = []

    def deliver_before_the_upload_goes(request: Any, **_: Any) -> None:
        if not seen:  # the first DeleteObjects is the upload's
            seen.append(run(stack, instance().run([event])))

    deleter.meta.events.register("before-send.s3.DeleteObjects", deliver_before_the_upload_goes)
    topology = stack.topology
    # When its event is handled there: the key still holds the upload, not newer than deletedAt
    result = delete_with(deleter, topology)
    # Then nothing was rendered or recorded for it, and the deletion removed the upload
    assert (result, seen) == ("deleted", [[]])
    assert_gone(stack)
    assert dlq_reasons(stack) == []


def delete_with(s3: S3Client, topology: Topology) -> str:
    """`delete_image` with a client of the test's own (to hook it)."""
    from worker.api.deletion import delete_image

    return delete_image(s3, input_bucket=topology.input_bucket, output_bucket=topology.output_bucket,
                        user_id=USER, image_id=IMAGE)  # fmt: skip


def test_a_render_in_flight_a_duplicate_and_a_redrive_racing_a_deletion_leave_nothing_behind(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given run A of an upload, paused at its commit with every variant written
    ((_, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(320, 240, seed=6))]).values()
    a, b = instance(), instance()
    results: dict[str, Any] = {}

    async def deletion_a_duplicate_and_a_redrive() -> None:
        assert stack.output_keys(f"processed/{USER}/{IMAGE}/"), "A has written its variants"
        results["delete"] = delete(stack)
        results["b"] = await b.run([redelivered(event), redriven(event)])

    async def scenario() -> list[str]:
        hook = Before(output(stack, "metadata/"), deletion_a_duplicate_and_a_redrive)
        await a.hook("s3", "before-send.s3.PutObject", hook)
        return await a.run([event])

    # When the owner deletes the image there, and a duplicate and a redrive of its event arrive
    assert run(stack, scenario()) == []
    # Then A's commit loses to the tombstone and A removes its own render; B's copies are
    # acknowledged as deleted; nothing is left but the tombstone, and nothing was quarantined
    assert results == {"delete": "deleted", "b": []}
    assert_gone(stack)
    assert dlq_reasons(stack) == []


def test_a_corrupt_upload_whose_quarantine_races_the_deletion_records_nothing(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a corrupt upload whose run has read "no manifest" and looked at the key, and is
    # about to write its failed manifest
    body = images.photo_jpeg(320, 240, seed=10)
    ((_, event),) = stack.upload_and_receive([(KEY, body[: len(body) // 2])]).values()
    a = instance()
    results: dict[str, str] = {}

    async def the_owner_deletes() -> None:
        results["delete"] = delete(stack)

    async def scenario() -> list[str]:
        await a.hook("s3", "before-send.s3.PutObject", Before(output(stack, "metadata/"), the_owner_deletes))
        return await a.run([event])

    # When the owner deletes the image just before that write
    assert run(stack, scenario()) == []
    # Then the write is refused, the run reads the tombstone and stops: no failed manifest over
    # it, no DLQ entry
    assert results == {"delete": "deleted"}
    assert_gone(stack)
    assert dlq_reasons(stack) == []


def test_a_render_whose_source_goes_with_the_deletion_is_not_quarantined(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given run A of an upload that read "no manifest" and is about to read its source
    ((_, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(320, 240, seed=11))]).values()
    a = instance()

    async def the_owner_deletes() -> None:
        assert delete(stack) == "deleted"

    async def scenario() -> list[str]:
        await a.hook("s3", "before-send.s3.GetObject", Before(source(stack, KEY), the_owner_deletes))
        return await a.run([event])

    # When the owner deletes the image there, so the read finds the source gone (SourceMissing)
    assert run(stack, scenario()) == []
    # Then the quarantine reads the tombstone: acknowledged, nothing recorded, nothing sent
    assert_gone(stack)
    assert dlq_reasons(stack) == []


def test_a_new_upload_to_the_key_after_the_deletion_is_processed(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a deleted image (the operator's `imgpipe upload` may reuse its key afterwards)
    _, old_event = processed(stack, instance)
    assert delete(stack) == "deleted"
    # When a new upload lands on the same key after the deletion, and the old event comes late
    etag, _ = processed(stack, instance, seed=8)
    assert run(stack, instance().run([redelivered(old_event)])) == []
    # Then the new upload is processed over the tombstone, and the old event changes nothing
    stack.assert_consistent(IMAGE, USER, etag)
    assert dlq_reasons(stack) == []


def test_reprocess_never_requeues_an_upload_its_owner_deleted(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a deleted image, another image that is not, and what a listing could still show of
    # the first (an upload not newer than the deletion, and one uploaded after it)
    old_etag, _ = processed(stack, instance)
    assert delete(stack) == "deleted"
    other_etag, _ = processed(stack, instance, key="uploads/u1/other.jpg", seed=12)
    deleted_at = tombstone(stack).deleted_at
    assert deleted_at is not None
    line = parse_time(deleted_at)
    before = reprocess.Upload(KEY, old_etag, 1, USER, IMAGE, modified=line - timedelta(seconds=5))
    after = reprocess.Upload(KEY, "new", 1, USER, IMAGE, modified=line + timedelta(seconds=5))
    other = reprocess.Upload("uploads/u1/other.jpg", other_etag, 1, USER, "other", modified=line)
    # When `imgpipe reprocess` selects what to re-queue
    kept, deleted = reprocess.without_deleted(stack.s3, stack.topology.output_bucket, [before, after, other])
    # Then the deleted image's upload is skipped and named; the new upload and the other image stay
    assert (kept, deleted) == ([after, other], [before])
