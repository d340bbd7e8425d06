"""`imgpipe upload | presign`: putting images into a deployed (or local) pipeline and getting them out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from deploy.cli.common import (
    Command,
    Group,
    InputBucket,
    Json,
    OutputBucket,
    User,
    aws_errors,
    clients,
    collect_files,
    fail,
    nothing_to_do,
    progress,
    say,
)
from deploy.cli.output import print_json, show
from deploy.cli.text import DataTable
from shared.errors import ImgpipeError

presign_app = typer.Typer(
    cls=Group, help="Pre-signed URLs for browser uploads and downloads.", no_args_is_help=True
)
Paths = Annotated[list[Path], typer.Argument(help="image files or folders", metavar="PATH")]


def upload(
    paths: Paths,
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, metavar="N", help="uploads in flight, 1-256")
    ] = 16,
    json_output: Json = False,
) -> None:
    """Upload files (folders recursively) to uploads/USER/img_<uuid>.<ext>; print each file's imageId.

    Files without an image suffix, empty or unreadable ones are skipped and listed with the reason.
    Each upload keeps its file's base name in the object metadata `original-filename`.

    --json prints {"bucket", "user", "uploaded": [{"path", "imageId", "key", "bytes"}],
    "skipped": [{"path", "reason"}]}, uploads in the order the files were given.
    """
    from deploy.ops.uploads import check_user, upload_all

    selection = collect_files(paths, allow_empty=json_output)
    try:
        check_user(user)
    except ImgpipeError as exc:
        raise fail(str(exc), 2) from exc
    if not selection.files:  # only with --json: the document still comes, then the usage error
        print_json(_upload_document(bucket, user, [], selection.skipped))
        raise nothing_to_do(paths, selection)
    with aws_errors(), progress() as bar:
        s3, _ = clients()
        task = bar.add_task(f"uploading to s3://{bucket}", total=len(selection.files))
        done = upload_all(s3, bucket, selection.files, user, concurrency, lambda _: bar.advance(task))
    skipped = [*selection.skipped, *done.skipped]
    if json_output:
        print_json(_upload_document(bucket, user, done.uploaded, skipped))
        return
    _upload_tables(done.uploaded, skipped)
    say(
        f"uploaded {len(done.uploaded)} files to s3://{bucket}/uploads/{user}/"
        + (f"; skipped {len(skipped)}" if skipped else "")
    )


def _upload_tables(uploaded: list[Any], skipped: list[Any]) -> None:
    if uploaded:
        table = DataTable("file", "imageId", "key")
        for u in uploaded:
            table.add_row(str(u.path), u.image_id, u.key)
        show(table)
    if skipped:
        table = DataTable("skipped file", "why")
        for s in skipped:
            table.add_row(str(s.path), s.reason)
        show(table)


@presign_app.command("upload", cls=Command)
def presign_upload(
    filename: Annotated[
        str, typer.Argument(help="the file name the browser will upload", metavar="FILENAME")
    ],
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    kms_key_id: Annotated[
        str | None, typer.Option(envvar="IMGPIPE_KMS_KEY_ID", metavar="KEY", help="SSE-KMS key")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="the output is always JSON; accepted for scripts")
    ] = False,
) -> None:
    """A one-hour PUT URL (SSE-KMS, original name in metadata) and the headers to send with it.

    Only the base name of FILENAME is kept (a browser may send a whole path), and it must have
    an image suffix. Prints {"url", "method": "PUT", "key", "imageId", "headers"}.
    """
    from deploy.ops.uploads import check_filename, check_user
    from deploy.ops.uploads import presign_upload as make

    try:
        check_filename(filename)
        check_user(user)
    except ImgpipeError as exc:
        raise fail(str(exc), 2) from exc
    with aws_errors():
        s3, _ = clients()
        grant = make(s3, bucket, user, filename, kms_key_id)
    print_json(grant)


@presign_app.command("download", cls=Command)
def presign_download(
    image_id: Annotated[str, typer.Argument(help="the imageId (img_...)", metavar="IMAGE_ID")],
    variant: Annotated[str, typer.Option(metavar="NAME", help="variant name")] = "large",
    bucket: OutputBucket = "imgpipe-output",
    json_output: Annotated[
        bool, typer.Option("--json", help="the output is always JSON; accepted for scripts")
    ] = False,
) -> None:
    """A one-hour GET URL for one variant of a processed image.

    Found through the image's manifest. Prints {"url", "method": "GET", "key"}.
    """
    from deploy.ops.uploads import presign_download as make

    with aws_errors():
        s3, _ = clients()
        try:
            grant = make(s3, bucket, image_id, variant)
        except LookupError as exc:
            raise fail(str(exc)) from exc
    print_json(grant)


def register(app: typer.Typer) -> None:
    """Add these commands to the `imgpipe` app."""
    app.command(cls=Command)(upload)
    app.add_typer(presign_app, name="presign")


def _upload_document(
    bucket: str, user: str, uploaded: Sequence[Any], skipped: Sequence[Any]
) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "user": user,
        "uploaded": [
            {"path": str(u.path), "imageId": u.image_id, "key": u.key, "bytes": u.bytes} for u in uploaded
        ],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped],
    }
