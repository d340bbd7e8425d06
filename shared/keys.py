"""The S3 key layout, in one place: where uploads arrive and where results go."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from shared.errors import InvalidKey

UPLOAD_PREFIX = "uploads/"
PROCESSED_PREFIX = "processed/"
METADATA_PREFIX = "metadata/"
WATERMARKED_USER = "watermarked"

_ID = r"[A-Za-z0-9_-]{1,128}"
# Matched with `fullmatch`, never `^...$`: `$` also matches before a trailing newline, so
# "uploads/alice/img1.jpg\n" would parse as imageId img1 and claim another upload's results.
_UPLOAD = re.compile(rf"uploads/(?P<user>{_ID})/(?P<image>{_ID})\.(?P<ext>[A-Za-z0-9]{{1,10}})")
EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "png": "png"}
# File suffixes taken for images when collecting files (content still decides the format).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)


@dataclass(frozen=True)
class UploadKey:
    """The parts of a valid upload key."""

    user_id: str
    image_id: str
    extension: str


def is_upload(key: str) -> bool:
    """True for keys under `uploads/`; anything else is not the worker's business."""
    return key.startswith(UPLOAD_PREFIX)


def parse_upload_key(key: str) -> UploadKey:
    """Split `uploads/{userId}/{imageId}.{ext}`; raises `InvalidKey` naming what is wrong."""
    match = _UPLOAD.fullmatch(key)
    if match is None:
        raise InvalidKey(
            f"key {key!r} does not match uploads/{{userId}}/{{imageId}}.{{ext}}"
            " (ids of 1-128 characters from A-Z a-z 0-9 _ -)"
        )
    if match["user"] == WATERMARKED_USER:
        raise InvalidKey(f"userId {WATERMARKED_USER!r} is reserved for watermarked outputs")
    return UploadKey(match["user"], match["image"], match["ext"].lower())


def new_render_id() -> str:
    """A fresh id for one run's outputs: UTC time to the second (sortable), then 32 random bits."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)


def image_prefixes(user_id: str, image_id: str) -> tuple[str, str]:
    """The two prefixes under which an image's variants live (plain and watermarked)."""
    return (
        f"{PROCESSED_PREFIX}{user_id}/{image_id}/",
        f"{PROCESSED_PREFIX}{WATERMARKED_USER}/{user_id}/{image_id}/",
    )


def variant_key(upload: UploadKey, render_id: str, variant: str, fmt: str, watermarked: bool = False) -> str:
    """Where one render's variant is written: a key no other run writes, so it is never overwritten.

    `processed/{userId}/{imageId}/{renderId}/{variant}.{ext}`; watermarked variants live under
    `processed/watermarked/`. Clients find the current render through the manifest.
    """
    plain, watermark = image_prefixes(upload.user_id, upload.image_id)
    return f"{watermark if watermarked else plain}{render_id}/{variant}.{EXTENSIONS[fmt]}"


def manifest_key(image_id: str) -> str:
    """Where an image's manifest (`processing-info.json`) is written, last."""
    return f"{METADATA_PREFIX}{image_id}/processing-info.json"
