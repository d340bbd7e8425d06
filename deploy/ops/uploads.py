"""Getting images in and results out: bulk upload and the pre-signed URL functions.

Uploads get a generated `img_<uuid>` id, so two files with the same name never collide, and carry
the original file name in object metadata, as the pre-signed upload does for browser clients.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shared.errors import InvalidKey
from shared.keys import IMAGE_SUFFIXES, WATERMARKED_USER, manifest_key
from shared.manifest import Manifest

PRESIGN_EXPIRY_S = 3600
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True)
class Uploaded:
    """One file as it landed in the input bucket."""

    path: Path
    key: str
    image_id: str


def collect(paths: Iterable[Path]) -> list[Path]:
    """Files named directly plus image files found (recursively) in named folders."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return files


def check_user(user: str) -> str:
    """A user id the key layout accepts, or `InvalidKey` saying why not."""
    if not _ID.match(user):
        raise InvalidKey(f"user id {user!r} must be 1-128 characters of A-Z a-z 0-9 _ -")
    if user == WATERMARKED_USER:
        raise InvalidKey(f"user id {user!r} is reserved")
    return user


def new_key(user: str, path: Path) -> tuple[str, str]:
    """A fresh (key, imageId) for `path` under `uploads/{user}/`."""
    image_id = f"img_{uuid.uuid4().hex}"
    extension = re.sub(r"[^A-Za-z0-9]", "", path.suffix.lower())[:10] or "bin"
    return f"uploads/{user}/{image_id}.{extension}", image_id


def upload_all(
    s3: Any,
    bucket: str,
    files: list[Path],
    user: str,
    concurrency: int,
    on_done: Callable[[Uploaded], None] = lambda _: None,
) -> list[Uploaded]:
    """Upload `files` with up to `concurrency` requests in flight; returns them in input order."""
    check_user(user)

    def one(path: Path) -> Uploaded:
        key, image_id = new_key(user, path)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            Metadata={"original-filename": quote(path.name)},
        )
        done = Uploaded(path, key, image_id)
        on_done(done)
        return done

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(one, files))


def presign_upload(s3: Any, bucket: str, user: str, filename: str, kms_key_id: str | None) -> dict[str, Any]:
    """A PUT URL valid for an hour, and the headers the client must send with it."""
    key, image_id = new_key(check_user(user), Path(filename))
    headers = {
        "Content-Type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
        "x-amz-meta-original-filename": quote(filename),
        "x-amz-server-side-encryption": "aws:kms",
    }
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "ContentType": headers["Content-Type"],
        "Metadata": {"original-filename": headers["x-amz-meta-original-filename"]},
        "ServerSideEncryption": "aws:kms",
    }
    if kms_key_id:
        params["SSEKMSKeyId"] = headers["x-amz-server-side-encryption-aws-kms-key-id"] = kms_key_id
    url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=PRESIGN_EXPIRY_S)
    return {"url": url, "method": "PUT", "key": key, "imageId": image_id, "headers": headers}


def presign_download(s3: Any, bucket: str, image_id: str, variant: str) -> dict[str, Any]:
    """A GET URL valid for an hour for one variant, found through the image's manifest."""
    manifest = read_manifest(s3, bucket, image_id)
    if manifest is None:
        raise LookupError(f"no manifest for image {image_id!r} in bucket {bucket!r}")
    if manifest.status != "complete":
        reason = f": {manifest.error.type}: {manifest.error.message}" if manifest.error else ""
        raise LookupError(f"image {image_id!r} failed{reason}")
    keys = {v.name: v.key for v in manifest.variants}
    if variant not in keys:
        raise LookupError(f"image {image_id!r} has no variant {variant!r} (has: {', '.join(keys)})")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": keys[variant]}, ExpiresIn=PRESIGN_EXPIRY_S
    )
    return {"url": url, "method": "GET", "key": keys[variant]}


def read_manifest(s3: Any, bucket: str, image_id: str) -> Manifest | None:
    """The manifest of `image_id`, or None when there is none yet."""
    try:
        body = s3.get_object(Bucket=bucket, Key=manifest_key(image_id))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return Manifest.model_validate_json(body)
