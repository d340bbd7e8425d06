"""What `imgpipe upload` sends and leaves out (with the reason), and what a pre-signed upload
stores as the original file name: the base name, of a file with an image suffix."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest

from deploy.local.motoserver import free_port
from deploy.ops.uploads import check_filename, presign_upload, select
from shared.errors import InvalidKey
from tests.unit.test_cli import (
    assert_failure,
    aws_env,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no AWS configuration)
    invoke,
    write_photo,
)

pytestmark = pytest.mark.unit


def test_select_keeps_images_and_says_why_it_left_the_rest_out(tmp_path: Path) -> None:
    # Given a folder with a photo, a nested photo, an empty one, a text file and a file without suffix
    (tmp_path / "in" / "sub").mkdir(parents=True)
    write_photo(tmp_path / "in" / "a.jpg")
    write_photo(tmp_path / "in" / "sub" / "b.JPEG")
    (tmp_path / "in" / "empty.png").write_bytes(b"")
    (tmp_path / "in" / "notes.txt").write_text("x")
    (tmp_path / "in" / "README").write_text("x")
    # When the folder is selected for upload
    selection = select([Path("in")])
    # Then the photos go, each other file is listed with its reason
    assert selection.files == [Path("in/a.jpg"), Path("in/sub/b.JPEG")]
    assert {str(s.path): s.reason for s in selection.skipped} == {
        "in/README": "content is not an allowed image format (looks like text)",
        "in/empty.png": "empty",
        "in/notes.txt": "content is not an allowed image format (looks like text)",
    }


def test_an_unreadable_file_is_skipped_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a photo this process may not read (faked: the tests may run as root, who reads anything)
    photo = write_photo(tmp_path / "secret.jpg")
    real_open = Path.open

    def guarded(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path == photo:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    # When it is selected
    selection = select([photo])
    # Then it is left out, saying why
    assert selection.files == []
    assert [s.reason for s in selection.skipped] == ["unreadable: Permission denied"]


def test_a_missing_path_is_an_error_not_a_skip() -> None:
    with pytest.raises(FileNotFoundError, match="no such file or folder: nope"):
        select([Path("nope")])


@pytest.mark.parametrize(
    ("given", "stored"),
    [("photo.jpg", "photo.jpg"), ("/home/me/My Photos/cat.JPG", "cat.JPG"),
     ("C:\\fakepath\\dog.png", "dog.png"), ("  café & crème.webp ", "café & crème.webp")],
    ids=["plain", "posix-path", "windows-fakepath", "spaces-and-accents"],
)  # fmt: skip
def test_presign_upload_stores_only_the_base_name(given: str, stored: str) -> None:
    # Given a real S3 client (signing needs no network)
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    # When a browser's file name is signed for upload
    grant = presign_upload(s3, "bucket", "alice", given, None)
    # Then the metadata holds the base name alone, and the key keeps its suffix
    assert unquote(grant["headers"]["x-amz-meta-original-filename"]) == stored
    assert grant["key"].endswith(Path(stored).suffix.lower())


@pytest.mark.parametrize(
    ("given", "reason"),
    [("", "names no file"), ("   ", "names no file"), ("photos/", "names no file"),
     ("notes.txt", "'notes.txt' has no image suffix"), ("photo", "has no image suffix"),
     ("x" * 300 + ".jpg", "over 255")],
    ids=["empty", "blank", "folder", "txt", "no-suffix", "too-long"],
)  # fmt: skip
def test_presign_upload_refuses_names_that_are_not_images(given: str, reason: str) -> None:
    with pytest.raises(InvalidKey, match=reason):
        check_filename(given)


@pytest.mark.parametrize("name", ["", "notes.txt"], ids=["empty", "txt"])
def test_presign_upload_command_refuses_before_reaching_aws(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Given an endpoint nothing listens on (the command must not get there)
    aws_env(monkeypatch, f"http://127.0.0.1:{free_port()}")
    # When a URL is asked for a name that is not an image's
    result = invoke("presign", "upload", name)
    # Then it is a usage error naming the problem
    assert_failure(result, 2, "no file" if not name else "no image suffix")


def test_upload_of_only_non_images_is_a_usage_error_listing_them(tmp_path: Path) -> None:
    # Given a folder with nothing worth uploading
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("x")
    (tmp_path / "docs" / "blank.jpg").write_bytes(b"")
    # When it is uploaded
    result = invoke("upload", "docs")
    # Then the one line says there is nothing to upload, and why each file was left out
    assert_failure(
        result,
        2,
        "no image files in docs",
        "docs/blank.jpg: empty",
        "docs/notes.txt: content is not an allowed image",
    )
