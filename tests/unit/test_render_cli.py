"""`imgpipe render`: a folder per input that no other input shares, the worker's variants
(IMGPIPE_VARIANTS), and an exit code that says when some files failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from deploy.local.render import output_folders
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no IMGPIPE_* from the machine)
    invoke,
    write_photo,
)

pytestmark = pytest.mark.unit

TINY = [
    {"name": "tiny", "width": 40, "height": 40},
    {"name": "square", "width": 24, "height": 24, "fit": "cover"},
]


def files(tmp_path: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.append(write_photo(path, 120, 90))
    return paths


@pytest.mark.parametrize(
    ("inputs", "folders"),
    [
        (["photo.jpg"], ["out/photo"]),
        (["a/photo.jpg", "b/photo.jpg"], ["out/a/photo", "out/b/photo"]),
        (["shots/x.jpg", "shots/deep/x.jpg"], ["out/x", "out/deep/x"]),
        (["photo.jpg", "photo.png"], ["out/photo_jpg", "out/photo_png"]),
        (["photo.jpg", "./photo.jpg"], ["out/photo", "out/photo"]),
    ],
    ids=["one-file", "same-name-two-folders", "nested", "same-stem", "same-file-twice"],
)
def test_every_input_gets_a_folder_of_its_own(inputs: list[str], folders: list[str]) -> None:
    # Given input paths as a user types them
    # When their output folders are chosen
    chosen = output_folders([Path(p) for p in inputs], Path("out"))
    # Then each distinct file has its own folder, named after its path relative to the common folder
    assert [str(chosen[Path(p)]) for p in inputs] == folders


def test_same_names_in_two_folders_do_not_collide(tmp_path: Path) -> None:
    # Given a/photo.jpg and b/photo.jpg, different pictures
    _, b = files(tmp_path, "a/photo.jpg", "b/photo.jpg")
    write_photo(b, 60, 90)
    # When both are rendered into one folder
    result = invoke("render", "a/photo.jpg", "b/photo.jpg", "--out", "out")
    # Then each has its own variants
    assert result.exit_code == 0, result.output
    with (
        Image.open(tmp_path / "out/a/photo/original.jpg") as first,
        Image.open(tmp_path / "out/b/photo/original.jpg") as second,
    ):
        assert (first.size, second.size) == ((120, 90), (60, 90))


def test_some_files_failing_exits_1_and_says_how_many(tmp_path: Path) -> None:
    # Given two good photos and a text file named like an image
    files(tmp_path, "in/good1.jpg", "in/good2.jpg")
    (tmp_path / "in/notes.png").write_text("this is a text file, not an image\n")
    # When the folder is rendered
    result = invoke("render", "in", "--out", "out")
    # Then the good ones were written, the bad one named with its reason, and the exit says 1 of 3
    assert_failure(result, 1, "1 of 3 files failed")
    assert "UnsupportedFormat" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good1", "good2"]


def test_variants_come_from_imgpipe_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the worker's variant setting
    monkeypatch.setenv("IMGPIPE_VARIANTS", json.dumps(TINY))
    files(tmp_path, "photo.jpg")
    # When a photo is rendered
    result = invoke("render", "photo.jpg", "--out", "out")
    # Then exactly those variants were written, at those sizes
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out/photo").iterdir()) == ["square.jpg", "tiny.jpg"]
    with (
        Image.open(tmp_path / "out/photo/tiny.jpg") as tiny,
        Image.open(tmp_path / "out/photo/square.jpg") as sq,
    ):
        assert (tiny.size, sq.size) == ((40, 30), (24, 24))


@pytest.mark.parametrize(
    "value",
    ["not json", "[]", '[{"name": "a"}, {"name": "a"}]', '[{"name": "x", "width": 0}]'],
    ids=["not-json", "empty", "repeated-name", "zero-width"],
)
def test_bad_imgpipe_variants_is_a_usage_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # Given a variant setting the worker would refuse
    monkeypatch.setenv("IMGPIPE_VARIANTS", value)
    files(tmp_path, "photo.jpg")
    # When render is asked for
    result = invoke("render", "photo.jpg", "--out", "out")
    # Then it says which variable is wrong, in one line, and writes nothing
    assert_failure(result, 2, "IMGPIPE_VARIANTS")
    assert not (tmp_path / "out").exists()


def test_json_lists_each_file_its_folder_and_variants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a good photo, a bad one and a file without an image suffix
    monkeypatch.setenv("IMGPIPE_VARIANTS", json.dumps(TINY))
    files(tmp_path, "in/good.jpg")
    (tmp_path / "in/bad.jpg").write_bytes(b"\xff\xd8\xff truncated")
    (tmp_path / "in/readme.txt").write_text("hello")
    # When rendered with --json
    result = invoke("render", "in", "--out", "out", "--json")
    # Then stdout is one document with every file's outcome, and the exit says one failed
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert set(document) == {"out", "configHash", "rendered", "failed", "files", "skipped"}
    assert (document["rendered"], document["failed"]) == (1, 1)
    bad, good = document["files"]
    assert good["status"] == "rendered" and good["folder"] == "out/good" and good["error"] is None
    assert [(v["name"], v["file"], v["width"], v["height"]) for v in good["variants"]] == [
        ("tiny", "out/good/tiny.jpg", 40, 30), ("square", "out/good/square.jpg", 24, 24),
    ]  # fmt: skip
    assert bad["status"] == "failed" and bad["folder"] is None and bad["variants"] == []
    assert bad["error"]["type"] == "CorruptImage" and bad["error"]["message"]
    assert document["skipped"] == [{"path": "in/readme.txt", "reason": "not an image suffix (.txt)"}]


def test_a_warning_that_left_the_picture_whole_is_shown_and_in_json(tmp_path: Path) -> None:
    # Given a JPEG with stray bytes between its header segments (browsers show it whole)
    from tests.fixtures import edge_images

    (tmp_path / "odd.jpg").write_bytes(edge_images.jpeg_junk_before_marker())
    # When it is rendered, for a person and with --json
    shown = invoke("render", "odd.jpg", "--out", "out")
    listed = invoke("render", "odd.jpg", "--out", "out2", "--json")
    # Then it rendered, and both say what the decoder noticed
    assert shown.exit_code == 0, shown.output
    assert "warning" in shown.stdout and "extraneous bytes" in shown.stdout
    (entry,) = json.loads(listed.stdout)["files"]
    assert entry["status"] == "rendered"
    assert any("4 extraneous bytes before marker" in w for w in entry["warnings"]), entry
    # And a clean photo has none
    files(tmp_path, "clean.jpg")
    (clean,) = json.loads(invoke("render", "clean.jpg", "--out", "out3", "--json").stdout)["files"]
    assert clean["warnings"] == []
