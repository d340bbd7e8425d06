"""The API's request and response bodies: the OpenAPI document is generated from these.

Bodies are camelCase on the wire and snake_case in Python. A request with a field not listed
here is refused (a misspelt `contentTyp` must not be silently ignored), and nothing is coerced:
`"size": "12"` is an error, not 12.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

MAX_BATCH = 100
ImageStatus = Literal["pending", "complete", "failed", "deleted"]


class _Request(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", strict=True, frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", validate_by_name=True, frozen=True)


class UploadRequest(_Request):
    """One file a client is about to upload."""

    filename: str = Field(min_length=1, max_length=1024, description="the file's name; its extension is kept")
    content_type: str = Field(
        min_length=1, max_length=100, description="e.g. image/jpeg; must fit the extension"
    )
    size: int = Field(ge=1, description="the file's size in bytes, at most the deployment's limit")


class BatchUploadRequest(_Request):
    """Up to 100 files in one call."""

    files: list[UploadRequest] = Field(min_length=1, max_length=MAX_BATCH)


class UploadForm(_Response):
    """A pre-signed POST: send `fields` as form fields, then the file as the last field, `file`."""

    url: str
    fields: dict[str, str]


class UploadCreated(_Response):
    """Where and how to upload one file."""

    image_id: str = Field(description="the image's id; GET /v1/images/{imageId} follows it")
    key: str = Field(description="the object key the upload is pinned to")
    upload: UploadForm
    expires_at: datetime = Field(description="when the signed form stops being accepted")


class FieldError(_Response):
    """One invalid field of a request."""

    field: str = Field(description="where, as a path: files[3].size")
    message: str


class Problem(_Response):
    """RFC 9457 problem details: branch on `type`, show `detail` to people."""

    type: str = Field(description="stable URI of the kind of problem")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="invalid fields, when any")


class BatchItemCreated(_Response):
    """A file of a batch that got its signed form."""

    index: int = Field(description="the file's position in the request")
    status: Literal[201] = 201
    upload: UploadCreated


class BatchItemRefused(_Response):
    """A file of a batch that was refused, and why."""

    index: int
    status: int = Field(description="the status this file alone would have had")
    problem: Problem


class BatchUploadResult(_Response):
    """One outcome per file, in the request's order."""

    items: list[BatchItemCreated | BatchItemRefused]
    created: int
    refused: int


class VariantView(_Response):
    """One processed size of a complete image."""

    name: str
    width: int
    height: int
    format: str
    bytes: int
    url: str = Field(description="a short-lived GET URL of this variant")


class PlaceholderView(_Response):
    """What to paint before any variant loads: decode `thumbhash` with any ThumbHash decoder
    (evanw.github.io/thumbhash; tens of bytes to a blurred preview), and fill with `color` where
    none is at hand."""

    thumbhash: str = Field(description="the picture's ThumbHash, standard base64")
    color: str = Field(description="the picture's mean colour, #rrggbb (the hash's own average)")


class ImageError(_Response):
    """Why an image failed: `reason` for people, `type` for programs, `detail` from the worker."""

    type: str
    reason: str
    detail: str


class ImageView(_Response):
    """An image as its owner sees it."""

    image_id: str
    status: ImageStatus
    original_filename: str | None = None
    processed_at: str | None = None
    variants: list[VariantView] | None = Field(default=None, description="complete images only")
    urls_expire_at: datetime | None = Field(default=None, description="when the variant URLs stop working")
    error: ImageError | None = Field(default=None, description="failed images only")
    placeholder: PlaceholderView | None = Field(
        default=None, description="complete images processed since placeholders exist; paint it first"
    )


class ImagePage(_Response):
    """One page of a user's images, newest first."""

    images: list[ImageView]
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page")
