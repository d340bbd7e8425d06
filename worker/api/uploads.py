"""Signing uploads: a pre-signed POST whose policy leaves the client nothing to choose.

The policy pins the exact key under the caller's own prefix, the exact Content-Type, SSE-KMS
(the input bucket refuses any PutObject without `x-amz-server-side-encryption: aws:kms`) with
the deployment's key when there is one, the original-filename metadata the worker reads back,
and a size of 1 byte to `IMGPIPE_MAX_BYTES`. Everything a client could get wrong is refused
here, before any URL exists. The batch call's uploads also carry the bulk lane's mark
(`shared.lanes`), which the router reads back to keep them off the interactive lane.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import ImageTooLarge, ImgpipeError, InvalidKey, UnsupportedFormat
from shared.keys import UPLOAD_PREFIX
from shared.lanes import BULK, LANE_METADATA, Lane
from shared.uploads import ORIGINAL_FILENAME_METADATA, base_name, encode_original_filename, upload_extension
from worker.api import store
from worker.api.ids import new_image_id
from worker.api.models import (
    BatchItemCreated,
    BatchItemRefused,
    BatchUploadResult,
    Problem,
    UploadCreated,
    UploadForm,
    UploadRequest,
)
from worker.api.problems import refusal
from worker.api.settings import ApiSettings

REFUSED = (UnsupportedFormat, ImageTooLarge, InvalidKey)


def upload_fields(
    settings: ApiSettings, content_type: str, filename: str, lane: Lane | None = None
) -> dict[str, str]:
    """The form fields the policy pins besides the key: type, encryption, original filename, lane."""
    fields = {"Content-Type": content_type, "x-amz-server-side-encryption": "aws:kms"}
    if settings.kms_key_id:
        fields["x-amz-server-side-encryption-aws-kms-key-id"] = settings.kms_key_id
    fields[f"x-amz-meta-{ORIGINAL_FILENAME_METADATA}"] = encode_original_filename(filename)
    if lane is not None:
        fields[f"x-amz-meta-{LANE_METADATA}"] = lane
    return fields


def create_upload(
    s3: Any, settings: ApiSettings, user_id: str, request: UploadRequest, lane: Lane | None = None
) -> UploadCreated:
    """A signed POST for one file of `user_id` (pinned to `lane` when given); `UnsupportedFormat`,
    `InvalidKey` or `ImageTooLarge` when the file is refused."""
    name = base_name(request.filename)
    extension = upload_extension(name, request.content_type)
    if request.size > settings.max_bytes:
        raise ImageTooLarge(f"the file is {request.size} bytes, over the limit of {settings.max_bytes}")
    image_id = new_image_id()
    key = f"{UPLOAD_PREFIX}{user_id}/{image_id}.{extension}"
    fields = upload_fields(settings, request.content_type.lower(), name, lane)
    conditions: list[Any] = [{field: value} for field, value in fields.items()]
    conditions.append(["content-length-range", 1, settings.max_bytes])
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=settings.upload_url_ttl_s)
    form = store.presign_post(s3, settings.input_bucket, key, fields, conditions, settings.upload_url_ttl_s)
    return UploadCreated(
        image_id=image_id,
        key=key,
        upload=UploadForm(url=form["url"], fields=form["fields"]),
        expires_at=expires_at,
    )


def create_uploads(
    s3: Any, settings: ApiSettings, user_id: str, requests: list[UploadRequest]
) -> BatchUploadResult:
    """One outcome per file: its signed POST (in the bulk lane), or the problem that refused it."""
    items: list[BatchItemCreated | BatchItemRefused] = []
    for index, request in enumerate(requests):
        try:
            upload = create_upload(s3, settings, user_id, request, BULK)
            items.append(BatchItemCreated(index=index, upload=upload))
        except REFUSED as exc:
            items.append(_refused(index, exc))
    created = sum(isinstance(item, BatchItemCreated) for item in items)
    return BatchUploadResult(items=items, created=created, refused=len(items) - created)


def _refused(index: int, exc: ImgpipeError) -> BatchItemRefused:
    problem = refusal(exc)
    return BatchItemRefused(index=index, status=problem.kind.status, problem=Problem(**problem.to_dict()))
