"""`imgpipe upload | presign`: putting images into a deployed (or local) pipeline and getting them out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from deploy.cli.common import (
    Command,
    Group,
    InputBucket,
    OutputBucket,
    User,
    aws_errors,
    clients,
    collect_files,
    console,
    fail,
)
from shared.errors import ImgpipeError

presign_app = typer.Typer(
    cls=Group, help="Pre-signed URLs for browser uploads and downloads.", no_args_is_help=True
)


def upload(
    paths: Annotated[list[Path], typer.Argument(help="image files or folders", metavar="PATH")],
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="uploads in flight")] = 16,
) -> None:
    """Upload files (folders recursively) to uploads/USER/img_<uuid>.<ext> with a progress bar."""
    from deploy.ops.uploads import check_user, collect, upload_all

    files = collect_files(paths, collect)
    try:
        check_user(user)
    except ImgpipeError as exc:
        raise fail(str(exc), 2) from exc
    with aws_errors(), Progress(console=console) as progress:
        s3, _ = clients()
        task = progress.add_task(f"uploading to s3://{bucket}", total=len(files))
        done = upload_all(s3, bucket, files, user, concurrency, lambda _: progress.advance(task))
    console.print(f"uploaded {len(done)} files to s3://{bucket}/uploads/{user}/")


@presign_app.command("upload", cls=Command)
def presign_upload(
    filename: Annotated[
        str, typer.Argument(help="the file name the browser will upload", metavar="FILENAME")
    ],
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    kms_key_id: Annotated[str | None, typer.Option(envvar="IMGPIPE_KMS_KEY_ID", help="SSE-KMS key")] = None,
) -> None:
    """A one-hour PUT URL (SSE-KMS, original name in metadata) and the headers to send with it."""
    from deploy.ops.uploads import presign_upload as make

    with aws_errors():
        s3, _ = clients()
        try:
            console.print_json(json.dumps(make(s3, bucket, user, filename, kms_key_id)))
        except ImgpipeError as exc:
            raise fail(str(exc), 2) from exc


@presign_app.command("download", cls=Command)
def presign_download(
    image_id: Annotated[str, typer.Argument(help="the imageId (img_...)", metavar="IMAGE_ID")],
    variant: Annotated[str, typer.Option(help="variant name")] = "large",
    bucket: OutputBucket = "imgpipe-output",
) -> None:
    """A one-hour GET URL for one variant of a processed image."""
    from deploy.ops.uploads import presign_download as make

    with aws_errors():
        s3, _ = clients()
        try:
            console.print_json(json.dumps(make(s3, bucket, image_id, variant)))
        except LookupError as exc:
            raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add these commands to the `imgpipe` app."""
    app.command(cls=Command)(upload)
    app.add_typer(presign_app, name="presign")
