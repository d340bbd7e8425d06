"""`imgpipe upload`: a folder of photos into the input bucket, with a record of what went where.

The record (file -> imageId -> key, as a table or `--json`) is printed however the run ends: done,
stopped by Ctrl-C (exit 130) or by a failed request (exit 1). Running the same command again
uploads only what is missing, since an imageId comes from the file's content.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from deploy.cli.common import (
    InputBucket,
    Json,
    KmsKey,
    User,
    aws_errors,
    clients,
    collect_files,
    fail,
    nothing_to_do,
    progress,
    say,
    stop_on_signals,
)
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable, literal
from shared.errors import ImgpipeError

if TYPE_CHECKING:
    from deploy.ops.uploads import UploadResult

Paths = Annotated[list[Path], typer.Argument(help="image files or folders", metavar="PATH")]


def upload(
    paths: Paths,
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, metavar="N", help="uploads in flight, 1-256")
    ] = 16,
    kms_key_id: KmsKey = None,
    json_output: Json = False,
) -> None:
    """Upload files (folders recursively) to uploads/USER/img_<id>.<ext>; print each file's imageId.

    The imageId comes from the user and the file's content, so running the same command again
    (after Ctrl-C, say) uploads only what is missing: a file already there with the same content
    is "already uploaded", a file with the same content as another one is a "duplicate" of it.
    Files whose content is not an image, empty, unreadable or hidden ones (and hidden folders)
    are skipped and listed with the reason.
    Each upload keeps its file's base name in the object metadata `original-filename`, and is
    encrypted with SSE-KMS, as the deployed bucket requires: with --kms-key-id (IMGPIPE_KMS_KEY_ID,
    from `terraform output`) if set, else with the account's aws/s3 key.
    Ctrl-C stops it: what was and was not uploaded is printed, then it exits 130.

    --json prints {"bucket", "user", "uploaded": [{"path", "imageId", "key", "bytes", "status":
    "uploaded"|"already uploaded"|"duplicate", "sameAs"}], "skipped": [{"path", "reason"}],
    "notUploaded": [{"path", "imageId", "key", "reason"}], "interrupted", "error"}, files in the
    order given.
    """
    from deploy.ops.uploads import check_user, upload_all

    stop_on_signals()  # Ctrl-C ends the run with its record, however the command was started
    try:
        selection = collect_files(paths, allow_empty=json_output)
    except KeyboardInterrupt:
        raise fail("interrupted while choosing the files; nothing was uploaded", 130) from None
    try:
        check_user(user)
    except ImgpipeError as exc:
        raise fail(str(exc), 2) from exc
    if not selection.files:  # only with --json: the document still comes, then the usage error
        print_json(_document(bucket, user, None, selection.skipped))
        raise nothing_to_do(paths, selection)
    with aws_errors(), progress() as bar:
        s3, _ = clients()
        task = bar.add_task(f"uploading to s3://{bucket}", total=len(selection.files))
        done = upload_all(
            s3, bucket, selection.files, user, concurrency, lambda _: bar.advance(task), kms_key_id
        )
    if json_output:
        print_json(_document(bucket, user, done, selection.skipped))
    elif done.in_bucket or done.interrupted or done.stopped_by is None:  # else the reason says it all
        _tables(done, [*selection.skipped, *done.skipped])
        say(_summary(bucket, user, done, len(selection.skipped)))
    _stopped(done)


def _stopped(done: UploadResult) -> None:
    if done.interrupted:
        raise fail(
            f"interrupted: {len(done.not_uploaded)} of {len(done.outcomes)} files not uploaded;"
            " run the same command again to upload only those",
            130,
        )
    if done.stopped_by is not None:
        with aws_errors():  # the failure that stopped it, as the one line it would be on its own
            raise done.stopped_by


def _tables(done: UploadResult, skipped: list[Any]) -> None:
    if done.in_bucket:
        table = DataTable("file", "imageId", "key", "status")
        for u in done.in_bucket:
            status = Text.assemble("duplicate of ", literal(u.same_as)) if u.same_as else u.status
            table.add_row(str(u.path), u.image_id, u.key, status)
        show(table)
    if done.not_uploaded:
        table = DataTable("not uploaded", "why")
        for n in done.not_uploaded:
            table.add_row(str(n.path), n.reason)
        show(table)
    if skipped:
        table = DataTable("skipped file", "why")
        for s in skipped:
            table.add_row(str(s.path), s.reason)
        show(table)


def _summary(bucket: str, user: str, done: UploadResult, skipped_before: int) -> str:
    counts = Counter(u.status for u in done.in_bucket)
    parts = [f"uploaded {counts['uploaded']} files to s3://{bucket}/uploads/{user}/"]
    parts += [f"{counts[what]} {what}" for what in ("already uploaded", "duplicate") if counts[what]]
    if done.not_uploaded:
        parts.append(f"not uploaded {len(done.not_uploaded)}")
    if skipped := skipped_before + len(done.skipped):
        parts.append(f"skipped {skipped}")
    return "; ".join(parts)


def _document(bucket: str, user: str, done: UploadResult | None, skipped: list[Any]) -> dict[str, Any]:
    """The --json shape (keys are only ever added)."""
    in_bucket, not_uploaded = (done.in_bucket, done.not_uploaded) if done else ([], [])
    skipped = [*skipped, *(done.skipped if done else [])]
    failure = done.stopped_by if done is not None and not done.interrupted else None
    return {
        "bucket": bucket,
        "user": user,
        "uploaded": [
            {
                "path": str(u.path),
                "imageId": u.image_id,
                "key": u.key,
                "bytes": u.bytes,
                "status": u.status,
                "sameAs": None if u.same_as is None else str(u.same_as),
            }
            for u in in_bucket
        ],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped],
        "notUploaded": [
            {"path": str(n.path), "imageId": n.image_id, "key": n.key, "reason": n.reason}
            for n in not_uploaded
        ],
        "interrupted": bool(done and done.interrupted),
        "error": None if failure is None else str(failure),
    }
