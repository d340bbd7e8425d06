"""Every S3 call the client API makes, and what their failures mean to a client.

The only module of the API that speaks the S3 API. Above it, a busy or failing S3 is a
`RetryableError` (the client is told to try again), and "no such object" is None.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import RetryableError
from shared.keys import UPLOAD_PREFIX, manifest_key

_MISSING = {"NoSuchKey", "404", "NotFound"}


@contextmanager
def s3_errors(action: str) -> Iterator[None]:
    """Throttling, 5xx and network failures of `action` as `RetryableError`; others pass through."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500 or error.get("Code") in {"SlowDown", "Throttling", "RequestTimeout"}:
            raise RetryableError(f"{action}: {error.get('Code')}") from exc
        raise
    except BotoCoreError as exc:  # connection refused or reset, read timeout
        raise RetryableError(f"{action}: {type(exc).__name__}") from exc


def presign_post(
    s3: Any, bucket: str, key: str, fields: dict[str, str], conditions: list[Any], ttl_s: int
) -> dict[str, Any]:
    """A signed POST form for exactly `key` (S3 adds the bucket and key to the policy)."""
    return dict(
        s3.generate_presigned_post(bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=ttl_s)
    )


def presign_get(s3: Any, bucket: str, key: str, ttl_s: int) -> str:
    """A signed GET URL of one object."""
    return str(
        s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=ttl_s)
    )


def read_manifest(s3: Any, bucket: str, image_id: str) -> dict[str, Any] | None:
    """The manifest of `image_id` as stored (complete, failed or a deletion tombstone), or None."""
    try:
        with s3_errors("read manifest"):
            body = s3.get_object(Bucket=bucket, Key=manifest_key(image_id))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    document = json.loads(body)
    return document if isinstance(document, dict) else None


def find_upload(s3: Any, bucket: str, user_id: str, image_id: str) -> str | None:
    """The key of `user_id`'s upload of `image_id` (`uploads/{user}/{image}.{ext}`), or None."""
    # An id never contains ".", so this prefix matches that image's key and no other image's.
    with s3_errors("find upload"):
        page = s3.list_objects_v2(Bucket=bucket, Prefix=f"{UPLOAD_PREFIX}{user_id}/{image_id}.", MaxKeys=1)
    contents = page.get("Contents") or []
    return str(contents[0]["Key"]) if contents else None


def list_uploads(s3: Any, bucket: str, user_id: str, limit: int, after: str | None) -> tuple[list[str], bool]:
    """Up to `limit` upload names (`{imageId}.{ext}`) of `user_id` in key order, after the name
    `after`; and whether more follow."""
    prefix = f"{UPLOAD_PREFIX}{user_id}/"
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": limit}
    if after is not None:
        params["StartAfter"] = prefix + after
    with s3_errors("list uploads"):
        page = s3.list_objects_v2(**params)
    names = [str(item["Key"])[len(prefix) :] for item in page.get("Contents") or []]
    return names, bool(page.get("IsTruncated"))
