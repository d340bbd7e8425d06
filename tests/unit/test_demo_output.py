"""`imgpipe demo DIR`'s summary: piped, its table is never cut (as every table of the CLI), and the
files it left out are listed with the reason, as `imgpipe upload` lists them.

The pipeline run itself is replaced by a stand-in that answers for the files it was given: no
stack starts, no socket is opened.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.local import contact_sheet, demo
from deploy.ops.status import QueueDepth
from tests.unit.test_cli import (
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no IMGPIPE_* from the machine)
    invoke,
    write_photo,
)

pytestmark = pytest.mark.unit

LONG_NAME = "2026-08-14 holiday on the coast, the whole family at sunset, taken by grandma (1).jpg"
LONG_REASON = "CorruptImage: jpeg image cannot be decoded: VipsJpeg: premature end of JPEG image " * 2


def stand_in(given: list[list[Path]]) -> Callable[..., demo.DemoResult]:
    def run(files: list[Path], out: Path, **_: Any) -> demo.DemoResult:
        given.append(list(files))
        entries = [contact_sheet.Entry(f.name, f"img_{n}", None, LONG_REASON) for n, f in enumerate(files)]
        depth = QueueDepth(0, 0, 0)
        return demo.DemoResult(entries, out / "index.html", "http://127.0.0.1:1", 1.0, depth, depth)

    return run


def test_piped_demo_table_keeps_every_name_and_reason_whole_and_lists_skipped_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a folder with a photo under a long name, and a text file
    (tmp_path / "photos").mkdir()
    write_photo(tmp_path / "photos" / LONG_NAME)
    (tmp_path / "photos" / "notes.txt").write_text("shopping list\n")
    given: list[list[Path]] = []
    monkeypatch.setattr(demo, "run", stand_in(given))
    # When the demo runs on it with its output piped (CliRunner's stdout is no terminal)
    result = invoke("demo", "photos", "--out", "out", "--workers", "1")
    # Then only the photo went to the pipeline
    assert result.exit_code == 0, result.output
    assert given == [[Path("photos") / LONG_NAME]]
    # And its row holds the whole name and the whole reason, on one line, with no ellipsis
    row = next(line for line in result.stdout.splitlines() if LONG_NAME in line)
    assert LONG_REASON.strip() in row and "…" not in result.stdout
    # And the text file is listed with why it was left out, and counted in the last line
    skipped = next(line for line in result.stdout.splitlines() if "photos/notes.txt" in line)
    assert "content is not an allowed image format (looks like text)" in skipped
    assert "skipped 1 · contact sheet: out/index.html" in result.stdout.splitlines()[-1]


def test_piped_demo_progress_lines_are_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the demo on its own generated photos, piped
    monkeypatch.setattr(demo, "run", stand_in([]))
    result = invoke("demo", "--out", "out", "--workers", "1")
    # Then what it says it is doing is one line each, and says what the samples are
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "generating sample photos: two EXIF-rotated, one with alpha, two that must be refused" in lines
    assert "starting the local stack (moto server, S3 → SNS → SQS, 1 workers)" in lines
