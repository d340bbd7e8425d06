"""Deleting a user's image for good: its upload, every render and its manifest.

The manifest is the image's commit pointer, so the deletion replaces it FIRST with a tombstone
(`shared.manifest.build_tombstone`: status `deleted`, `deletedAt`, the uploads found), written
only if the manifest is still what was read (IfMatch its ETag, IfNoneMatch when there was none;
a refused write reads again and decides again). Every worker decides from the manifest before
anything else, so from then on no late event, duplicate, redrive or reprocess of an upload the
tombstone covers renders or records anything (docs/consistency.md, "Deletion").

Then, once S3 can no longer stamp an upload within `deletedAt`'s second, it removes every version
of the upload and every object under the image's `processed/` prefixes that is not newer than
`deletedAt` (the worker draws the same line: an upload newer than that is a new upload, and
processed), the variants the replaced manifest listed, and the manifest's older versions. A
render still in flight writes later: its commit then loses to the tombstone and it deletes its
own objects, or, if it dies first, the sweep removes them as orphans.

Sync boto3, as the API Lambda is; this module loads neither the engine nor aioboto3.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import ClientError

from shared.errors import InvalidKey, RetryableError
from shared.keys import UPLOAD_PREFIX, image_prefixes, manifest_key, new_render_id, parse_upload_key
from shared.manifest import (
    DeletedUpload,
    Manifest,
    SourceRecord,
    build_tombstone,
    normalise_etag,
    parse_manifest,
    parse_time,
)

Result = Literal["deleted", "not_found", "already_deleted"]
MAX_RACES = 5  # manifest writes refused in a row (renders committing meanwhile) before giving up
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
_CHANGED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey", "404"}


@dataclass(frozen=True)
class _Stored:
    """The manifest as read (None when absent or unreadable) and its ETag (None when absent)."""

    manifest: Manifest | None
    etag: str | None


@dataclass(frozen=True)
class _Version:
    """One object version (or delete marker) as ListObjectVersions gives it."""

    key: str
    version_id: str
    last_modified: datetime
    etag: str | None  # None for a delete marker
    latest: bool


def delete_image(s3: Any, *, input_bucket: str, output_bucket: str, user_id: str, image_id: str,
                 kms_key_id: str | None = None) -> Result:  # fmt: skip
    """Delete `user_id`'s image `image_id`: "deleted", "already_deleted" (its removal is
    completed again) or "not_found" (no such image of theirs). `kms_key_id`: the SSE-KMS key of
    the tombstone write (the buckets refuse unencrypted PUTs), else SSE-S3.

    Raises `RetryableError` when the manifest kept changing or S3 refused a delete; deleting
    again completes what is left.
    """
    mine: set[str] = set()
    for _ in range(MAX_RACES):
        stored = _read(s3, output_bucket, image_id)
        manifest = stored.manifest
        if manifest is not None and manifest.user_id != user_id:
            return "not_found"  # another user's image is not found, never forbidden
        if manifest is not None and manifest.deleted:
            _remove(s3, input_bucket, output_bucket, manifest, None)
            return "deleted" if manifest.pipeline.render_id in mine else "already_deleted"
        found = [v for v in _versions(s3, input_bucket, f"{UPLOAD_PREFIX}{user_id}/{image_id}.")
                 if v.etag is not None and _is_upload_of(v.key, image_id)]  # fmt: skip
        if manifest is None and not found:
            return "not_found"
        tombstone = _tombstone(input_bucket, user_id, image_id, manifest, found)
        mine.add(str(tombstone.pipeline.render_id))
        if _write_if_unchanged(s3, output_bucket, tombstone, stored.etag, kms_key_id):
            _remove(s3, input_bucket, output_bucket, tombstone, manifest)
            return "deleted"
    raise RetryableError(f"the manifest of {image_id!r} kept changing during {MAX_RACES} deletions")


def _tombstone(
    bucket: str, user_id: str, image_id: str, replaced: Manifest | None, found: list[_Version]
) -> Manifest:
    uploads = [DeletedUpload(key=v.key, etag=v.etag, version_id=_real(v.version_id)) for v in found]
    if replaced is not None:
        source = replaced.source
    else:
        first = next((v for v in found if v.latest), found[0])
        source = SourceRecord(
            bucket=bucket, key=first.key, etag=first.etag, version_id=_real(first.version_id)
        )
    return build_tombstone(
        image_id=image_id, user_id=user_id, source=source, uploads=uploads,
        deleted_at=datetime.now(UTC), replaced=replaced, deletion_id=new_render_id(),
    )  # fmt: skip


def _remove(
    s3: Any, input_bucket: str, output_bucket: str, tombstone: Manifest, replaced: Manifest | None
) -> None:
    """Remove what the tombstone covers: the upload's versions, then the renders and old manifests."""
    deleted_at = parse_time(str(tombstone.deleted_at))
    _past_the_second(deleted_at)
    user_id, image_id = tombstone.user_id, tombstone.image_id
    uploads = [v for v in _versions(s3, input_bucket, f"{UPLOAD_PREFIX}{user_id}/{image_id}.")
               if _is_upload_of(v.key, image_id) and tombstone.deletion_covers(v.last_modified)]  # fmt: skip
    _delete(s3, input_bucket, uploads)
    listed = {variant.key for variant in replaced.variants} if replaced is not None else set()
    renders = [v for prefix in image_prefixes(user_id, image_id) for v in _versions(s3, output_bucket, prefix)
               if v.key in listed or tombstone.deletion_covers(v.last_modified)]  # fmt: skip
    # Older versions of the manifest (a versioned bucket keeps them): never the current one.
    older = [v for v in _versions(s3, output_bucket, manifest_key(image_id))
             if not v.latest and tombstone.deletion_covers(v.last_modified)]  # fmt: skip
    _delete(s3, output_bucket, renders + older)


def _past_the_second(deleted_at: datetime) -> None:
    # S3 stamps Last-Modified in whole seconds: an upload later in `deleted_at`'s own second
    # counts as covered (not newer), so the listing that removes covered uploads waits until
    # that second is over and every such upload is in place.
    end = deleted_at.replace(microsecond=0) + timedelta(seconds=1)
    delay = (end - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _read(s3: Any, bucket: str, image_id: str) -> _Stored:
    try:
        response = s3.get_object(Bucket=bucket, Key=manifest_key(image_id))
    except s3.exceptions.NoSuchKey:
        return _Stored(None, None)
    etag = normalise_etag(response.get("ETag"))
    try:
        return _Stored(parse_manifest(response["Body"].read()), etag)
    except ValueError:
        return _Stored(None, etag)  # unreadable: the uploads decide whose image it is


def _write_if_unchanged(
    s3: Any, bucket: str, tombstone: Manifest, etag: str | None, kms_key_id: str | None
) -> bool:
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    encryption: dict[str, Any] = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id, "BucketKeyEnabled": True}
        if kms_key_id
        else {"ServerSideEncryption": "AES256"}
    )
    try:
        s3.put_object(
            Bucket=bucket, Key=manifest_key(tombstone.image_id), Body=tombstone.to_json(),
            ContentType="application/json", CacheControl="no-cache", **encryption, **condition,
        )  # fmt: skip
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in _CHANGED:
            return False  # written (or deleted) since it was read: read again and decide again
        raise
    return True


def _versions(s3: Any, bucket: str, prefix: str) -> list[_Version]:
    found: list[_Version] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append(_Version(
                key=str(entry["Key"]), version_id=str(entry.get("VersionId") or "null"),
                last_modified=entry["LastModified"], etag=normalise_etag(entry.get("ETag")),
                latest=bool(entry.get("IsLatest")),
            ))  # fmt: skip
    return found


def _delete(s3: Any, bucket: str, versions: list[_Version]) -> None:
    for start in range(0, len(versions), DELETE_BATCH):
        chunk = versions[start : start + DELETE_BATCH]
        response = s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": v.key, "VersionId": v.version_id} for v in chunk], "Quiet": True},
        )
        if errors := response.get("Errors", []):
            first = errors[0]
            raise RetryableError(
                f"S3 refused to delete {len(errors)} objects; first {first.get('Key')}: {first.get('Code')}"
            )


def _is_upload_of(key: str, image_id: str) -> bool:
    try:
        return parse_upload_key(key).image_id == image_id
    except InvalidKey:
        return False


def _real(version_id: str) -> str | None:
    return None if version_id == "null" else version_id
