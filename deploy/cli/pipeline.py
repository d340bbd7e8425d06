"""`imgpipe upload | presign`: putting images into a deployed (or local) pipeline and getting them out.

`upload` lives in `deploy.cli.upload`; this module has the pre-signed URLs and registers both.
"""

from __future__ import annotations

from typing import Annotated

import typer

from deploy.cli.common import (
    Command,
    Group,
    InputBucket,
    KmsKey,
    OutputBucket,
    User,
    aws_errors,
    clients,
    fail,
)
from deploy.cli.output import print_json
from deploy.cli.upload import upload
from shared.errors import ImgpipeError

presign_app = typer.Typer(
    cls=Group, help="Pre-signed URLs for browser uploads and downloads.", no_args_is_help=True
)


@presign_app.command("upload", cls=Command)
def presign_upload(
    filename: Annotated[str, typer.Argument(help="the image file the URL is for", metavar="FILENAME")],
    bucket: InputBucket = "imgpipe-input",
    user: User = "cli",
    kms_key_id: KmsKey = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="the output is always JSON; accepted for scripts")
    ] = False,
) -> None:
    """A one-hour PUT URL (SSE-KMS, original name in metadata) and the headers to send with it.

    SSE-KMS as `upload` asks for it: with --kms-key-id (IMGPIPE_KMS_KEY_ID) if set, else the
    account's aws/s3 key. Signed here: no request is made.

    FILENAME must be a readable file here with an image suffix; only its base name is kept.
    Prints {"url", "method": "PUT", "key", "imageId", "headers"}.
    """
    from deploy.ops.presign import check_filename, check_local_file
    from deploy.ops.presign import presign_upload as make
    from deploy.ops.upload_keys import check_user

    try:
        check_filename(filename)
        check_local_file(filename)
        check_user(user)
    except (ImgpipeError, OSError) as exc:
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
    from deploy.ops.presign import presign_download as make

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
