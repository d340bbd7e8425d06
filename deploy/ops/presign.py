"""Pre-signed URLs: a browser's PUT of one upload, and a GET of one processed variant.

The PUT names the original file (its base name, URL-quoted) in object metadata, as a bulk upload
does, and asks for SSE-KMS with the same parameters (`upload_keys.encryption`): the deployed
bucket refuses anything else. The GET is found through the image's manifest, never guessed.
The CLI signs a PUT only for a file it can see (`check_local_file`); the load test signs for the
names it generates.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from deploy.ops.upload_keys import check_user, encryption, new_key
from shared.errors import InvalidKey
from shared.keys import IMAGE_SUFFIXES, manifest_key
from shared.manifest import Manifest

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

PRESIGN_EXPIRY_S = 3600
MAX_FILENAME = 255
SUFFIXES = ", ".join(sorted(IMAGE_SUFFIXES))
_HEADERS = {"ServerSideEncryption": "x-amz-server-side-encryption", "SSEKMSKeyId":
            "x-amz-server-side-encryption-aws-kms-key-id"}  # fmt: skip


def presign_upload(
    s3: S3Client, bucket: str, user: str, filename: str, kms_key_id: str | None
) -> dict[str, Any]:
    """A PUT URL valid for an hour, and the headers the client must send with it."""
    name = check_filename(filename)
    key, image_id = new_key(check_user(user), Path(name))
    sse = encryption(kms_key_id)
    headers = {
        "Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        "x-amz-meta-original-filename": quote(name),
        **{_HEADERS[param]: value for param, value in sse.items()},
    }
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "ContentType": headers["Content-Type"],
        "Metadata": {"original-filename": headers["x-amz-meta-original-filename"]},
        **sse,
    }
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


def check_local_file(filename: str) -> Path:
    """`filename` as a file here that can be uploaded: it exists, is a regular file and can be read;
    else an OSError saying which (a grant for a file that is not there is a URL for nothing)."""
    path = Path(filename)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {filename}")
    if not path.is_file():  # a folder, a device or a pipe: nothing a browser would upload
        raise IsADirectoryError(f"not a regular file: {filename}")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise PermissionError(f"cannot read {filename}: {exc.strerror or exc}") from exc
    return path


def presign_download(s3: S3Client, bucket: str, image_id: str, variant: str) -> dict[str, Any]:
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


def read_manifest(s3: S3Client, bucket: str, image_id: str) -> Manifest | None:
    """The manifest of `image_id`, or None when there is none yet."""
    try:
        body = s3.get_object(Bucket=bucket, Key=manifest_key(image_id))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return Manifest.model_validate_json(body)
