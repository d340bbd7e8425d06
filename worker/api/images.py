"""An image as its owner sees it: pending, complete (with variant URLs), failed (and why) or deleted.

The manifest decides: its presence commits one render, and its `userId` says whose it is. An
image of another user, or one that does not exist, is the same "not found" (None here), so a
caller learns nothing about anyone else's ids.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import InvalidKey
from shared.keys import parse_upload_key
from shared.manifest import Manifest
from worker.api import store
from worker.api.aws import READERS
from worker.api.ids import decode_cursor, encode_cursor
from worker.api.models import ImageError, ImagePage, ImageView, PlaceholderView, VariantView
from worker.api.problems import INVALID_CURSOR, ApiProblem
from worker.api.reasons import reason_for
from worker.api.settings import ApiSettings

DELETED = "deleted"  # the status of a deletion tombstone (shared.manifest)


def image_view(
    s3: Any, settings: ApiSettings, user_id: str, image_id: str, uploaded: bool = False
) -> ImageView | None:
    """`user_id`'s image `image_id`, or None when there is no such image of theirs.

    `uploaded` says the caller has already seen the upload, so its absence need not be checked.
    """
    document = store.read_manifest(s3, settings.output_bucket, image_id)
    if document is not None:
        return _from_manifest(s3, settings, user_id, document)
    if uploaded or store.find_upload(s3, settings.input_bucket, user_id, image_id) is not None:
        return ImageView(image_id=image_id, status="pending")
    return None


def _from_manifest(
    s3: Any, settings: ApiSettings, user_id: str, document: dict[str, Any]
) -> ImageView | None:
    if document.get("userId") != user_id:
        return None
    image_id = str(document.get("imageId"))
    if document.get("status") == DELETED:
        return ImageView(image_id=image_id, status="deleted")
    manifest = Manifest.model_validate(document)
    name = manifest.source.original_filename
    if manifest.status == "failed":
        error = manifest.error
        kind, message = (error.type, error.message) if error else ("Unknown", "")
        failure = ImageError(type=kind, reason=reason_for(kind), detail=message)
        return ImageView(image_id=image_id, status="failed", original_filename=name, error=failure,
                         processed_at=manifest.processed_at)  # fmt: skip
    ttl = settings.download_url_ttl_s
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl)
    variants = [
        VariantView(
            name=variant.name,
            width=variant.width,
            height=variant.height,
            format=variant.format,
            bytes=variant.bytes,
            url=store.presign_get(s3, settings.output_bucket, variant.key, ttl),
        )  # fmt: skip
        for variant in manifest.variants
    ]
    hint = manifest.placeholder
    placeholder = PlaceholderView(thumbhash=hint.thumbhash, color=hint.color) if hint else None
    return ImageView(image_id=image_id, status="complete", original_filename=name, variants=variants,
                     urls_expire_at=expires_at, processed_at=manifest.processed_at,
                     placeholder=placeholder)  # fmt: skip


def list_images(s3: Any, settings: ApiSettings, user_id: str, limit: int, cursor: str | None) -> ImagePage:
    """A page of `user_id`'s images, newest first (their ids sort so), each with its status."""
    after = None
    if cursor is not None:
        after = decode_cursor(cursor)
        if after is None:
            raise ApiProblem(INVALID_CURSOR, "the cursor is not one this API gave out; start without it")
    names, more = store.list_uploads(s3, settings.input_bucket, user_id, limit, after)
    ids = [image_id for name in names if (image_id := _image_id(user_id, name)) is not None]
    with ThreadPoolExecutor(max_workers=max(1, min(READERS, len(ids)))) as pool:
        views = list(pool.map(lambda image_id: image_view(s3, settings, user_id, image_id, True), ids))
    next_cursor = encode_cursor(names[-1]) if more and names else None
    return ImagePage(images=[view for view in views if view is not None], next_cursor=next_cursor)


def _image_id(user_id: str, name: str) -> str | None:
    # Only keys the worker would take are images; anything else under the prefix is skipped.
    try:
        return parse_upload_key(f"uploads/{user_id}/{name}").image_id
    except InvalidKey:
        return None
