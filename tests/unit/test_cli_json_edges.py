"""--json where it is easy to forget: an upload with nothing to upload, and presign (always JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deploy import cli

pytestmark = pytest.mark.unit

runner = CliRunner()
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def test_upload_json_with_nothing_to_upload_still_prints_one_document(tmp_path: Path) -> None:
    # Given only an empty image file and a text file
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hi")
    # When they are uploaded with --json
    result = runner.invoke(cli.app, ["upload", str(tmp_path), "--user", "carol", "--json"], env=AWS)
    # Then one JSON document says nothing was uploaded and why each file was skipped, and it is exit 2
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["uploaded"] == []
    assert sorted((Path(s["path"]).name, s["reason"]) for s in document["skipped"]) == [
        ("empty.jpg", "empty"),
        ("notes.txt", "content is not an allowed image format (looks like text)"),
    ]


@pytest.mark.parametrize("args", [["presign", "upload", "photo.jpg", "--json"]])
def test_presign_accepts_json(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")  # presign signs for a file that is there
    result = runner.invoke(cli.app, args, env={**AWS, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "PUT"
