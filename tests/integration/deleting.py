"""What the deletion tests share: `delete_image` called as the API calls it, and what "nothing
left but the tombstone" means, read back from the moto server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.manifest import Manifest
from tests.fixtures import images
from tests.integration.conftest import Stack
from tests.integration.interleave import Instance
from tests.integration.staging import run
from worker.api.deletion import delete_image

USER, IMAGE = "u1", "img1"
KEY = f"uploads/{USER}/{IMAGE}.jpg"


def delete(stack: Stack, user_id: str = USER, image_id: str = IMAGE) -> str:
    """`delete_image` as the API calls it, with the stack's sync client."""
    topology = stack.topology
    return delete_image(
        stack.s3,
        input_bucket=topology.input_bucket,
        output_bucket=topology.output_bucket,
        user_id=user_id,
        image_id=image_id,
    )


def uploads_left(stack: Stack, prefix: str = f"uploads/{USER}/{IMAGE}.") -> list[str]:
    """Every object version (and delete marker) under `prefix` in the input bucket."""
    response = stack.s3.list_object_versions(Bucket=stack.topology.input_bucket, Prefix=prefix)
    return [v["Key"] for v in response.get("Versions", []) + response.get("DeleteMarkers", [])]


def tombstone(stack: Stack, image_id: str = IMAGE) -> Manifest:
    """The image's manifest, which must be a tombstone."""
    raw = stack.manifest(image_id)
    assert raw is not None, "no manifest: the tombstone is missing"
    manifest = Manifest.model_validate(raw)
    assert manifest.deleted, raw
    return manifest


def assert_gone(stack: Stack, image_id: str = IMAGE) -> Manifest:
    """Nothing of the image is left but its tombstone: no upload, no render object."""
    assert uploads_left(stack, f"uploads/{USER}/{image_id}.") == []
    assert stack.output_keys(f"processed/{USER}/{image_id}/") == []
    assert stack.output_keys(f"processed/watermarked/{USER}/{image_id}/") == []
    return tombstone(stack, image_id)


def processed(
    stack: Stack, instance: Callable[[], Instance], key: str = KEY, seed: int = 1
) -> tuple[str, Any]:
    """Upload `key`, process its event to a complete result; its ETag and event."""
    ((etag, event),) = stack.upload_and_receive([(key, images.photo_jpeg(320, 240, seed=seed))]).values()
    assert run(stack, instance().run([event])) == []
    return etag, event
