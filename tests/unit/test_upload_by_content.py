"""`imgpipe upload` picks files by their content, as the worker decides, not by their name; it
leaves hidden files and folders out and says so; and a file named without an image suffix is
stored under a key whose extension is the format its content is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.local import samples
from deploy.ops.upload_keys import content_key, extension
from deploy.ops.uploads import HIDDEN_FILE, HIDDEN_FOLDER, select
from tests.unit.fake_s3_wire import WireBucket
from tests.unit.test_cli import (
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no AWS configuration)
    invoke,
    write_photo,
)
from tests.unit.test_upload_requests import bucket  # noqa: F401  (the fixture: a bucket in botocore)

pytestmark = pytest.mark.unit


def reasons(selection: object) -> dict[str, str]:
    return {str(s.path): s.reason for s in selection.skipped}  # type: ignore[attr-defined]


def test_an_image_is_picked_by_its_content_whatever_its_name(tmp_path: Path) -> None:
    # Given a JPEG without a suffix, a JPEG named .dat, and text and a PDF named as images
    (tmp_path / "in").mkdir()
    write_photo(tmp_path / "in" / "IMG_0001")
    write_photo(tmp_path / "in" / "export.dat")
    (tmp_path / "in" / "notes.png").write_text("this is a text file, not an image\n")
    (tmp_path / "in" / "scan.jpg").write_bytes(b"%PDF-1.7\n" + b"\0" * 100)
    # When the folder is selected for upload
    selection = select([Path("in")])
    # Then the two JPEGs go, and the files named as images are left out saying what they are
    assert selection.files == [Path("in/IMG_0001"), Path("in/export.dat")]
    assert reasons(selection) == {
        "in/notes.png": "content is not an allowed image format (looks like text), though named .png",
        "in/scan.jpg": "content is not an allowed image format (looks like PDF), though named .jpg",
    }


def test_hidden_files_and_folders_are_left_out_and_listed(tmp_path: Path) -> None:
    # Given photos in hidden places: a dot-folder (with a photo deeper in it), dot-files at two levels
    for name in ("in/a.jpg", "in/.git/objects/x.jpg", "in/.DS_Store", "in/sub/.thumb.jpg", "in/sub/b.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write_photo(tmp_path / name)
    # When the folder is selected
    selection = select([Path("in")])
    # Then only the visible photos go; each hidden file is listed, a hidden folder once
    assert selection.files == [Path("in/a.jpg"), Path("in/sub/b.jpg")]
    assert reasons(selection) == {
        "in/.git": HIDDEN_FOLDER,
        "in/.DS_Store": HIDDEN_FILE,
        "in/sub/.thumb.jpg": HIDDEN_FILE,
    }
    assert HIDDEN_FOLDER == "hidden folder (not searched)" and HIDDEN_FILE == "hidden file"


def test_a_hidden_file_or_folder_named_on_the_command_line_is_taken_as_named(tmp_path: Path) -> None:
    (tmp_path / ".photos").mkdir()
    write_photo(tmp_path / ".photos" / "a.jpg")
    write_photo(tmp_path / ".b.jpg")
    assert select([Path(".photos"), Path(".b.jpg")]).files == [Path(".photos/a.jpg"), Path(".b.jpg")]


def test_render_also_takes_files_named_as_images_for_the_engine_to_judge(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("text\n")
    (tmp_path / "notes.txt").write_text("text\n")
    write_photo(tmp_path / "IMG_0002")
    selection = select([Path("notes.png"), Path("notes.txt"), Path("IMG_0002")], trust_suffix=True)
    assert selection.files == [Path("notes.png"), Path("IMG_0002")]
    assert reasons(selection) == {"notes.txt": "not an image suffix (.txt)"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [("IMG_0001", "jpg"), ("export.dat", "jpg"), ("photo.JPEG", "jpeg"), ("misnamed.png", "png")],
    ids=["no-suffix", "other-suffix", "image-suffix", "image-suffix-kept-for-other-content"],
)
def test_the_key_extension_is_the_image_suffix_or_else_the_sniffed_format(name: str, expected: str) -> None:
    jpeg = samples.jpeg(samples.photo(40, 30, 1))
    assert extension(Path(name), jpeg) == expected
    key, image_id = content_key("alice", Path(name), "ab" * 32, jpeg)
    assert key == f"uploads/alice/{image_id}.{expected}"


def test_a_named_image_keeps_the_image_id_it_had() -> None:
    # The extension is part of the imageId's seed: files named as images must keep theirs, so a
    # re-run after this change still finds what an earlier run uploaded.
    jpeg = samples.jpeg(samples.photo(40, 30, 1))
    assert content_key("alice", Path("a/photo.JPG"), "ab" * 32, jpeg) == content_key(
        "alice", Path("a/photo.JPG"), "ab" * 32
    )


def test_upload_stores_a_suffixless_jpeg_under_a_jpg_key_as_image_jpeg(
    bucket: WireBucket,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Given a camera file without a suffix, and a hidden folder beside it
    write_photo(tmp_path / "IMG_0001")
    (tmp_path / ".cache").mkdir()
    write_photo(tmp_path / ".cache" / "thumb.jpg")
    # When the folder is uploaded
    result = invoke("upload", ".", "--user", "alice", "--json")
    # Then the JPEG went, under a .jpg key, typed image/jpeg; the hidden folder is listed as skipped
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (uploaded,) = document["uploaded"]
    assert uploaded["path"] == "IMG_0001" and uploaded["key"].endswith(".jpg")
    assert bucket.objects[uploaded["key"]]["content-type"] == "image/jpeg"
    assert document["skipped"] == [{"path": ".cache", "reason": "hidden folder (not searched)"}]
