"""Getting images in and results out: bulk upload and the pre-signed URL functions.

Uploads get a generated `img_<uuid>` id, so two files with the same name never collide, and carry
the original file name (its base name, URL-quoted) in object metadata, as the pre-signed upload
does for browser clients. Files that cannot be images (by suffix), are empty or unreadable are
left out and reported with the reason, never silently dropped.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from shared.errors import InvalidKey
from shared.keys import IMAGE_SUFFIXES, WATERMARKED_USER, manifest_key
from shared.manifest import Manifest

PRESIGN_EXPIRY_S = 3600
MAX_FILENAME = 255
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
SUFFIXES = ", ".join(sorted(IMAGE_SUFFIXES))


@dataclass(frozen=True)
class Uploaded:
    """One file as it landed in the input bucket."""

    path: Path
    key: str
    image_id: str
    bytes: int = 0


@dataclass(frozen=True)
class Skipped:
    """A file left out, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Selection:
    """What a bulk upload found: files to send, files left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class UploadResult:
    """What a bulk upload did, in input order."""

    uploaded: list[Uploaded]
    skipped: list[Skipped]


def select(paths: Iterable[Path]) -> Selection:
    """Every file named or found (recursively) in a named folder, split into uploads and skips."""
    selection = Selection()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if not p.is_dir())
        elif path.is_file():
            found = [path]
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
        for file in found:
            reason = skip_reason(file)
            if reason is None:
                selection.files.append(file)
            else:
                selection.skipped.append(Skipped(file, reason))
    return selection


def skip_reason(path: Path) -> str | None:
    """Why `path` is not worth uploading, or None when it is."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return f"not an image suffix ({path.suffix or 'none'})"
    try:
        if not path.is_file():
            return "not a regular file"
        with path.open("rb") as file:
            if not file.read(1):
                return "empty"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    return None


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
    on_done: Callable[[Uploaded | Skipped], None] = lambda _: None,
) -> UploadResult:
    """Upload `files` with up to `concurrency` requests in flight; results in input order.

    A file that cannot be read any more when its turn comes is skipped with the reason.
    """
    check_user(user)

    def one(path: Path) -> Uploaded | Skipped:
        key, image_id = new_key(user, path)
        try:
            body = path.read_bytes()
        except OSError as exc:
            done: Uploaded | Skipped = Skipped(path, f"unreadable: {exc.strerror or exc}")
        else:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                Metadata={"original-filename": quote(path.name)},
            )
            done = Uploaded(path, key, image_id, len(body))
        on_done(done)
        return done

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(one, files))
    return UploadResult(
        [r for r in results if isinstance(r, Uploaded)], [r for r in results if isinstance(r, Skipped)]
    )


def presign_upload(s3: Any, bucket: str, user: str, filename: str, kms_key_id: str | None) -> dict[str, Any]:
    """A PUT URL valid for an hour, and the headers the client must send with it."""
    name = check_filename(filename)
    key, image_id = new_key(check_user(user), Path(name))
    headers = {
        "Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        "x-amz-meta-original-filename": quote(name),
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


def check_filename(filename: str) -> str:
    """The base name of a browser's file name (`C:\\fakepath\\a.jpg` -> `a.jpg`) if it names an
    image, else `InvalidKey` saying why not."""
    name = re.split(r"[/\\]", filename.strip())[-1]
    if not name:
        raise InvalidKey(f"{filename!r} names no file: give the file's name, e.g. photo.jpg")
    if len(name) > MAX_FILENAME:
        raise InvalidKey(f"file name is {len(name)} characters, over {MAX_FILENAME}")
    if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
        raise InvalidKey(f"{name!r} has no image suffix (one of {SUFFIXES})")
    return name


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
