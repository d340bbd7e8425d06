"""`delete_image`: a user's image removed for good (upload, every render, manifest), against the
moto server: the tombstone first, then the upload's every version and every render; another
user's image or an unknown id is "not found"; a deletion racing a commit reads again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared.keys import manifest_key
from tests.fixtures import images
from tests.integration.conftest import Stack
from tests.integration.deleting import (
    IMAGE,
    KEY,
    USER,
    assert_gone,
    delete,
    processed,
    tombstone,
    uploads_left,
)
from tests.integration.interleave import Instance
from tests.integration.staging import instances
from worker.api.deletion import delete_image

pytestmark = pytest.mark.integration


@pytest.fixture
def instance(stack: Stack) -> Iterator[Callable[[], Instance]]:
    yield from instances(stack)


def test_deleting_a_complete_image_leaves_only_its_tombstone(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a processed image
    etag, _ = processed(stack, instance)
    before = stack.assert_consistent(IMAGE, USER, etag)
    # When its owner deletes it
    assert delete(stack) == "deleted"
    # Then the upload and every render are gone, and the manifest is a tombstone saying so
    gone = assert_gone(stack)
    document = json.loads(stack.read_output(manifest_key(IMAGE)))
    assert document["schema"] == 1 and document["status"] == "deleted"
    assert (document["imageId"], document["userId"]) == (IMAGE, USER)
    assert document["deletedAt"].endswith("Z")
    assert document["deletedUploads"] == [{"key": KEY, "etag": etag}]
    assert "variants" not in document or document["variants"] == []
    assert gone.source.key == KEY and gone.pipeline.config_hash == before["pipeline"]["configHash"]


def test_deleting_again_completes_and_says_already_deleted(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a deleted image whose upload came back in its deletion's last second (or a removal
    # that was cut short)
    processed(stack, instance)
    assert delete(stack) == "deleted"
    first = tombstone(stack)
    # When its owner deletes it again
    assert delete(stack) == "already_deleted"
    # Then nothing changes: the same tombstone, nothing else
    assert assert_gone(stack) == first


def test_a_pending_upload_is_deleted_before_any_manifest(stack: Stack) -> None:
    # Given an upload whose event has not been processed yet
    ((etag, _),) = stack.upload_and_receive([(KEY, images.photo_jpeg(320, 240, seed=2))]).values()
    # When its owner deletes it
    assert delete(stack) == "deleted"
    # Then the upload is gone and the tombstone records it
    assert assert_gone(stack).deleted_uploads is not None
    assert [(u.key, u.etag) for u in tombstone(stack).deleted_uploads or ()] == [(KEY, etag)]


@pytest.mark.parametrize("who", ["another user", "unknown image"])
def test_another_users_image_or_an_unknown_id_is_not_found_and_untouched(
    stack: Stack, instance: Callable[[], Instance], who: str
) -> None:
    # Given u1's processed image
    etag, _ = processed(stack, instance)
    before = stack.assert_consistent(IMAGE, USER, etag)
    # When u2 deletes it, or u1 deletes an id that does not exist
    user, image = ("u2", IMAGE) if who == "another user" else (USER, "nosuch")
    assert delete(stack, user, image) == "not_found"
    # Then nothing changed
    assert stack.assert_consistent(IMAGE, USER, etag) == before
    assert uploads_left(stack) == [KEY]
    assert stack.manifest("nosuch") is None


def test_an_upload_under_another_user_with_the_same_image_id_is_not_theirs(stack: Stack) -> None:
    # Given u2's pending upload with imageId img1 (no manifest yet)
    stack.upload_and_receive([(f"uploads/u2/{IMAGE}.jpg", images.photo_jpeg(64, 64, seed=3))])
    # When u1 deletes img1
    assert delete(stack) == "not_found"
    # Then u2's upload is untouched and no tombstone was written
    assert uploads_left(stack, "uploads/u2/") == [f"uploads/u2/{IMAGE}.jpg"]
    assert stack.manifest(IMAGE) is None


def test_every_version_of_the_upload_goes_in_a_versioned_bucket(stack: Stack) -> None:
    # Given a versioned input bucket (as Terraform makes it) with two versions of the key
    bucket = stack.topology.input_bucket
    stack.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    stack.upload_and_receive([(KEY, images.photo_jpeg(64, 64, seed=4))])
    stack.upload_and_receive([(KEY, images.photo_jpeg(64, 64, seed=5))])
    assert len(uploads_left(stack)) == 2
    # When its owner deletes the image
    assert delete(stack) == "deleted"
    # Then no version and no delete marker is left; the tombstone names both versions
    assert uploads_left(stack) == []
    recorded = tombstone(stack).deleted_uploads or ()
    assert len({u.version_id for u in recorded}) == 2 and all(u.version_id for u in recorded)


def test_a_deletion_whose_tombstone_races_a_commit_reads_again_and_removes_that_render(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given an upload, and a deletion that has read "no manifest" and is about to write
    ((etag, event),) = stack.upload_and_receive([(KEY, images.photo_jpeg(320, 240, seed=7))]).values()
    a = instance()
    deleter = stack.session.client("s3")
    writes: list[int] = []

    def a_commits_first(request: Any, **_: Any) -> None:
        if "processing-info.json" in request.url and not writes:
            writes.append(1)
            assert run_nested(stack, a.run([event])) == []
            stack.assert_consistent(IMAGE, USER, etag)

    deleter.meta.events.register("before-send.s3.PutObject", a_commits_first)
    topology = stack.topology
    # When a render commits just before the tombstone's conditional write
    result = delete_image(deleter, input_bucket=topology.input_bucket, output_bucket=topology.output_bucket,
                          user_id=USER, image_id=IMAGE)  # fmt: skip
    # Then the write is refused, the deletion reads again and writes over the new result, whose
    # render it removes with the upload
    assert result == "deleted" and writes == [1]
    assert_gone(stack)


def run_nested(stack: Stack, work: Any) -> Any:
    """Run `work` on the test's loop from inside a sync hook (the loop is not running then)."""
    return stack.loop.run_until_complete(work)
