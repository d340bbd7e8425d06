"""Where an upload goes and how it is stored: its key and imageId, its encryption, what S3 holds.

A bulk upload's imageId is derived from the user, the file's extension and its content (SHA-256),
so a re-run of an interrupted upload finds the same keys and sends only what is missing, and two
identical files of one run are one image. A pre-signed upload cannot know its content when it is
signed: it gets a random id (`new_key`). The key's extension is the file's image suffix, or for a
file named otherwise (a JPEG called `IMG_0001`), that of the format its content is, so a key
still says what it holds.

The deployed buckets refuse any PutObject without `x-amz-server-side-encryption: aws:kms`, so
every upload asks for SSE-KMS, with the deployment's key when IMGPIPE_KMS_KEY_ID names it (as
`terraform output` gives it). Without a key id S3 uses the account's AWS managed key (aws/s3),
which the bucket accepts too; the key is not looked up from the bucket, so signing a URL needs
no request and no s3:GetEncryptionConfiguration.
"""

from __future__ import annotations

import hashlib
import re
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

from botocore.exceptions import ClientError

from shared.errors import InvalidKey, PermanentError
from shared.keys import IMAGE_SUFFIXES, WATERMARKED_USER
from shared.limits import Limits
from worker.formats.sniff import sniff_format

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # used with fullmatch: `$` would let "alice\n" through
SHA256_METADATA = "sha256"  # x-amz-meta-sha256: the hex digest of the bytes, for a re-run to compare
_MISSING = {"404", "NoSuchKey", "NotFound"}
# Choosing what to upload asks only which format a file is; its limits are the worker's to apply.
_ANY_SIZE = Limits(max_pixels=sys.maxsize, max_bytes=sys.maxsize)
SOURCE_EXTENSIONS = {
    "jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif", "tiff": "tif", "heif": "heic", "avif": "avif",
}  # fmt: skip


def check_user(user: str) -> str:
    """A user id the key layout accepts, or `InvalidKey` saying why not."""
    if not _ID.fullmatch(user):
        raise InvalidKey(f"user id {user!r} must be 1-128 characters of A-Z a-z 0-9 _ -")
    if user == WATERMARKED_USER:
        raise InvalidKey(f"user id {user!r} is reserved")
    return user


def content_format(head: bytes) -> tuple[str | None, str]:
    """The image format `head` (a file's first bytes) is, by the worker's own sniffing, or None and
    why not ("content is not an allowed image format (looks like text)")."""
    try:
        return sniff_format(head, _ANY_SIZE), ""
    except PermanentError as exc:
        return None, str(exc)


def extension(path: Path, content: bytes = b"") -> str:
    """The key's extension for `path`: its image suffix, lower case; for a file named otherwise,
    that of the format `content` is (`IMG_0001`, a JPEG, gets `jpg`); else its suffix, letters
    and digits only, or `bin`. An image suffix is kept even when the content is another format:
    imageIds of files already uploaded stay what they were."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES and content and (found := content_format(content)[0]) is not None:
        return SOURCE_EXTENSIONS[found]
    return re.sub(r"[^A-Za-z0-9]", "", suffix)[:10] or "bin"


def new_key(user: str, path: Path) -> tuple[str, str]:
    """A fresh random (key, imageId) for `path` under `uploads/{user}/` (pre-signed uploads)."""
    image_id = f"img_{uuid.uuid4().hex}"
    return f"uploads/{user}/{image_id}.{extension(path)}", image_id


def content_key(user: str, path: Path, sha256: str, content: bytes = b"") -> tuple[str, str]:
    """The (key, imageId) of `content` (digest `sha256`), uploaded by `user` as `path`'s type.

    The same for every run; another user, extension or content gives another id (the extension
    is part of it because the key is: one imageId never names two keys).
    """
    ext = extension(path, content)
    seed = f"imgpipe-upload-v1\0{user}\0{ext}\0{sha256}".encode()
    image_id = f"img_{hashlib.sha256(seed).hexdigest()[:32]}"
    return f"uploads/{user}/{image_id}.{ext}", image_id


class Encryption(TypedDict, total=False):
    """PutObject's encryption parameters, as `encryption` fills them in."""

    ServerSideEncryption: Literal["aws:kms"]
    SSEKMSKeyId: str


def encryption(kms_key_id: str | None) -> Encryption:
    """The PutObject parameters the buckets' policy requires: SSE-KMS, with this key if given."""
    params: Encryption = {"ServerSideEncryption": "aws:kms"}
    if kms_key_id:
        params["SSEKMSKeyId"] = kms_key_id
    return params


def stored_sha256(s3: S3Client, bucket: str, key: str) -> str | None:
    """The content digest the object at `key` was uploaded with, or None when there is no object
    (or it carries none). A HEAD without s3:ListBucket answers 403 for a missing key: also None."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING | {"403", "AccessDenied"}:
            return None
        raise
    value = head.get("Metadata", {}).get(SHA256_METADATA)
    return str(value) if value else None
