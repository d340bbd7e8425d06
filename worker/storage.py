"""Every S3, SQS and SNS call the worker makes.

The only module that speaks the AWS API: every call runs inside `worker.aws_errors`, so above
it, failures are `RetryableError`, `SourceMissing` or `Superseded`, never a botocore `ClientError`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError

from shared.errors import ImageTooLarge, SourceMissing, Superseded
from shared.keys import manifest_key
from shared.manifest import Manifest, normalise_etag
from worker.aws_errors import aws_errors

ORIGINAL_FILENAME = "original-filename"  # object metadata `imgpipe upload` and pre-signed PUTs set
MAX_FILENAME = 255


@dataclass(frozen=True)
class Source:
    """The bytes of an upload, the version they came from, and the name the user gave the file."""

    data: bytes
    etag: str | None
    version_id: str | None
    original_filename: str | None = None


@dataclass(frozen=True)
class Head:
    """What HeadObject says about an upload now."""

    etag: str | None
    original_filename: str | None
    last_modified: datetime | None = None  # S3's, in whole seconds: a deletion's line (`deletedAt`)


def original_filename(metadata: Mapping[str, str] | None) -> str | None:
    """The uploader's file name from object metadata (URL-quoted there), or None."""
    raw = (metadata or {}).get(ORIGINAL_FILENAME)
    return unquote(raw)[:MAX_FILENAME] if raw else None


async def read_source(s3: Any, bucket: str, key: str, etag: str | None, max_bytes: int) -> Source:
    """Read an upload once, only if it is still the version the event announced."""
    options = {"IfMatch": etag} if etag else {}
    with aws_errors(f"GetObject s3://{bucket}/{key}", s3_object=True):
        response = await s3.get_object(Bucket=bucket, Key=key, **options)
        size = int(response.get("ContentLength") or 0)
        if size > max_bytes:
            response["Body"].close()
            raise ImageTooLarge(f"object is {size} bytes, over the limit of {max_bytes}")
        async with response["Body"] as body:
            data = await body.read()
    return Source(
        data,
        normalise_etag(response.get("ETag")),
        response.get("VersionId"),
        original_filename(response.get("Metadata")),
    )


async def head(s3: Any, bucket: str, key: str) -> Head | None:
    """The key's ETag and original filename now, or None when it was deleted."""
    try:
        with aws_errors(f"HeadObject s3://{bucket}/{key}", s3_object=True):
            response = await s3.head_object(Bucket=bucket, Key=key)
    except SourceMissing:
        return None
    metadata = original_filename(response.get("Metadata"))
    return Head(normalise_etag(response.get("ETag")), metadata, response.get("LastModified"))


async def current_etag(s3: Any, bucket: str, key: str) -> str | None:
    """The ETag the key has now, or None when it was deleted."""
    now = await head(s3, bucket, key)
    return now.etag if now is not None else None


async def put_object(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes,
    content_type: str,
    cache_control: str,
    kms_key_id: str | None,
    metadata: dict[str, str],
    precondition: dict[str, str] | None = None,
    sha256_hex: str | None = None,
) -> None:
    """Write one output object, encrypted with SSE-KMS when a key is configured, else SSE-S3.

    `precondition` ({"IfMatch": etag} or {"IfNoneMatch": "*"}) makes S3 refuse the write with 412
    (raised as `Superseded`) when someone else wrote the key since it was read. The body goes
    with its SHA-256 (`sha256_hex` when the caller has it: the one its manifest lists), which S3
    checks against the bytes it received. The client sends bodies unsigned (`worker.aws`), so
    this keeps every write verified whatever botocore's own checksum settings are.
    """
    digest = bytes.fromhex(sha256_hex) if sha256_hex else hashlib.sha256(body).digest()
    try:
        with aws_errors(f"PutObject s3://{bucket}/{key}", s3_object=True):
            await s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                CacheControl=cache_control,
                Metadata=metadata,
                ChecksumSHA256=base64.b64encode(digest).decode("ascii"),
                **_encryption(kms_key_id),
                **(precondition or {}),
            )
    except SourceMissing as exc:
        # Only an IfMatch write can meet 404: the object read before was deleted since, which
        # is a change like any other (an operator clearing metadata/ to force a reprocess).
        raise Superseded(str(exc)) from exc


def _encryption(kms_key_id: str | None) -> dict[str, Any]:
    # SSE-KMS with the deployment's key (the buckets refuse other PUTs on AWS), else SSE-S3.
    if kms_key_id:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id, "BucketKeyEnabled": True}
    return {"ServerSideEncryption": "AES256"}


async def delete_objects(s3: Any, bucket: str, keys: list[str]) -> list[str]:
    """Delete `keys` (up to 1,000) in one request; returns the keys S3 could not delete."""
    if not keys:
        return []
    with aws_errors(f"DeleteObjects s3://{bucket} ({len(keys)} keys)"):
        response = await s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
    return [str(error.get("Key")) for error in response.get("Errors", [])]


@dataclass(frozen=True)
class StoredManifest:
    """What the manifest key holds: the manifest (None if unreadable) and the object's ETag."""

    manifest: Manifest | None
    etag: str | None

    @property
    def precondition(self) -> dict[str, str]:
        """The condition that makes a write fail if someone else wrote the key since this read."""
        return {"IfMatch": self.etag} if self.etag else {"IfNoneMatch": "*"}


async def read_manifest(s3: Any, bucket: str, image_id: str) -> StoredManifest:
    """The image's manifest and its ETag; both None when there is none yet."""
    key = manifest_key(image_id)
    try:
        with aws_errors(f"GetObject s3://{bucket}/{key}", s3_object=True):
            response = await s3.get_object(Bucket=bucket, Key=key)
            async with response["Body"] as body:
                raw = await body.read()
    except SourceMissing:
        return StoredManifest(None, None)
    etag = normalise_etag(response.get("ETag"))
    try:
        return StoredManifest(Manifest.model_validate_json(raw), etag)
    except ValidationError:
        return StoredManifest(None, etag)  # unreadable: rewritten by the next complete run


async def send_to_dlq(sqs: Any, queue_url: str, body: str, attributes: dict[str, str]) -> None:
    """Quarantine a message: the original body unchanged, the reason in string attributes."""
    encoded = {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}
    with aws_errors(f"SendMessage {queue_url}"):
        await sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=encoded)


async def publish(sns: Any, topic_arn: str, event_type: str, detail: dict[str, Any]) -> None:
    """Announce a result so other services can react without polling."""
    with aws_errors(f"Publish {topic_arn}"):
        await sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps({"type": event_type, **detail}, separators=(",", ":")),
            MessageAttributes={"eventType": {"DataType": "String", "StringValue": event_type}},
        )
