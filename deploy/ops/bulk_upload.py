"""A bulk upload that can be stopped and run again without duplicates or a lost record.

Each file's imageId comes from its content (`upload_keys.content_key`), so a run does only what
is missing: a file whose object is already there with the same SHA-256 (kept in its metadata) is
"already uploaded", and a file with the same content as another of the run is its "duplicate",
sharing its imageId. Ctrl-C (or a request that fails) stops a run without losing its record:
nothing new starts, the uploads in flight may finish (a second Ctrl-C stops waiting), and the
result says file by file what is in the bucket and what is not.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import mimetypes
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from deploy.ops.upload_keys import (
    SHA256_METADATA,
    Encryption,
    check_user,
    content_key,
    encryption,
    stored_sha256,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

UPLOADED, ALREADY, DUPLICATE = "uploaded", "already uploaded", "duplicate"
NOT_STARTED = "not started: the run was stopped"


@dataclass(frozen=True)
class Uploaded:
    """A file whose content is in the input bucket: uploaded now, already there, or the same
    content as file `same_as` of this run (`DUPLICATE`)."""

    path: Path
    key: str
    image_id: str
    bytes: int = 0
    status: str = UPLOADED
    same_as: Path | None = None


@dataclass(frozen=True)
class Skipped:
    """A file left out, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class NotUploaded:
    """A file a stopped run did not upload, or whose upload it did not see finish, and why."""

    path: Path
    reason: str
    key: str | None = None
    image_id: str | None = None


Outcome = Uploaded | Skipped | NotUploaded


@dataclass(frozen=True)
class UploadResult:
    """What a bulk upload did, file by file in input order, and what stopped it (if anything did)."""

    outcomes: list[Outcome]
    stopped_by: BaseException | None = None

    @property
    def interrupted(self) -> bool:
        return isinstance(self.stopped_by, KeyboardInterrupt)

    @property
    def in_bucket(self) -> list[Uploaded]:
        """Every file whose content is in the bucket, duplicates included."""
        return [o for o in self.outcomes if isinstance(o, Uploaded)]

    @property
    def uploaded(self) -> list[Uploaded]:
        """One file per object in the bucket (duplicates left out): one imageId each."""
        return [o for o in self.in_bucket if o.status != DUPLICATE]

    @property
    def skipped(self) -> list[Skipped]:
        return [o for o in self.outcomes if isinstance(o, Skipped)]

    @property
    def not_uploaded(self) -> list[NotUploaded]:
        return [o for o in self.outcomes if isinstance(o, NotUploaded)]


def upload_all(
    s3: S3Client,
    bucket: str,
    files: list[Path],
    user: str,
    concurrency: int,
    on_done: Callable[[Uploaded | Skipped], None] = lambda _: None,
    kms_key_id: str | None = None,
) -> UploadResult:
    """Upload what of `files` is not in the bucket yet, `concurrency` requests at a time.

    Returns instead of raising when Ctrl-C or a failed request stops the run (`stopped_by`).
    """
    sender = _Sender(s3, bucket, check_user(user), files, encryption(kms_key_id))
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    futures: list[Future[Uploaded | Skipped]] = []
    stopped_by = _run(pool, sender, futures, on_done)
    pool.shutdown(wait=stopped_by is None, cancel_futures=True)
    outcomes = [
        _outcome(path, futures[index]) if index < len(futures) else NotUploaded(path, NOT_STARTED)
        for index, path in enumerate(files)
    ]
    return UploadResult(_settle_duplicates(outcomes), stopped_by)


@dataclass
class _Sender:
    s3: S3Client
    bucket: str
    user: str
    files: Sequence[Path]
    sse: Encryption
    _claims: dict[str, int] = field(default_factory=dict)  # key -> index of the file that sends it
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, index: int) -> Uploaded | Skipped:
        """Upload file `index` unless its content is there already or another file sends it."""
        path = self.files[index]
        try:
            body = path.read_bytes()
        except OSError as exc:  # gone or unreadable since it was selected
            return Skipped(path, f"unreadable: {exc.strerror or exc}")
        digest = hashlib.sha256(body).hexdigest()
        key, image_id = content_key(self.user, path, digest, body)
        with self._lock:
            first = self._claims.setdefault(key, index)
        if first != index:
            return Uploaded(path, key, image_id, len(body), DUPLICATE, self.files[first])
        if stored_sha256(self.s3, self.bucket, key) == digest:
            return Uploaded(path, key, image_id, len(body), ALREADY)
        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream",  # the key's type
            Metadata={"original-filename": quote(path.name), SHA256_METADATA: digest},
            ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(),  # S3 checks the bytes
            **self.sse,
        )
        return Uploaded(path, key, image_id, len(body))


def _run(
    pool: ThreadPoolExecutor,
    sender: _Sender,
    futures: list[Future[Uploaded | Skipped]],
    on_done: Callable[[Uploaded | Skipped], None],
) -> BaseException | None:
    """Send every file; on Ctrl-C or a failure, start no more and let those in flight end."""
    try:
        futures.extend(pool.submit(sender.send, index) for index in range(len(sender.files)))
        for future in as_completed(futures):
            on_done(future.result())
    except (KeyboardInterrupt, Exception) as exc:
        for future in futures:
            future.cancel()  # those not started yet
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting for them
            wait(futures)
        return exc
    return None


def _outcome(path: Path, future: Future[Uploaded | Skipped]) -> Outcome:
    if future.cancelled():
        return NotUploaded(path, NOT_STARTED)
    if not future.done():
        return NotUploaded(path, "still uploading when the run was stopped: run it again to make sure")
    if (error := future.exception()) is not None:
        return NotUploaded(path, f"failed: {error}")
    return future.result()


def _settle_duplicates(outcomes: list[Outcome]) -> list[Outcome]:
    """A duplicate is in the bucket only if the file that sent its content is."""
    sent = {o.key for o in outcomes if isinstance(o, Uploaded) and o.status != DUPLICATE}
    return [
        NotUploaded(o.path, f"same content as {o.same_as}, which was not uploaded", o.key, o.image_id)
        if isinstance(o, Uploaded) and o.status == DUPLICATE and o.key not in sent
        else o
        for o in outcomes
    ]
