"""`python -m loadtest.load.reconcile`: the ledgers of a distributed run, reconciled against the buckets
and the DLQ the worker really wrote (moto server), as the runner reconciles a run on one machine."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from loadtest.load import reconcile
from loadtest.load.tracker import Upload
from tests.fixtures.images import photo_jpeg

from .conftest import Stack

pytestmark = pytest.mark.integration


def _ledger(folder: Path, index: int, uploads: list[Upload]) -> None:
    lines = [json.dumps(asdict(upload)) for upload in uploads]
    (folder / f"uploads.{index}.jsonl").write_text("\n".join(lines) + "\n")


def test_two_workers_ledgers_are_reconciled_and_a_lost_upload_fails_the_run(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a good photo and a poison file processed by the worker, and an upload that never was
    good, poison = "uploads/loadtest/img_good.jpg", "uploads/loadtest/img_bad.jpg"
    mislabeled = "uploads/loadtest/img_odd.jpg"  # the ledger thinks it sent a photo here
    stack.upload(good, photo_jpeg(640, 480))
    stack.upload(poison, b"this is a text file, not an image\n")
    stack.upload(mislabeled, b"not a photo either\n")
    assert stack.process(stack.drain(3)) == {"batchItemFailures": []}
    # And their ledgers written by two locust workers, the second also naming the missing upload
    _ledger(tmp_path, 0, [Upload("img_good", good, "vga_640.jpg", 0.0, 1.0)])
    gone = Upload("img_gone", "uploads/loadtest/img_gone.jpg", "vga_640.jpg", 0.0, 1.0)
    odd = Upload("img_odd", mislabeled, "vga_640.jpg", 0.0, 1.0)
    _ledger(tmp_path, 1, [Upload("img_bad", poison, "poison_text.jpg", 0.0, 1.0), gone, odd])
    # When the ledgers are reconciled
    with pytest.raises(SystemExit) as done:
        reconcile.main([str(tmp_path)])
    out = capsys.readouterr().out
    # Then all four are counted, the missing one is named lost, the valid photo that ended
    # quarantined is named with its reason, and the run fails
    assert done.value.code == 1
    assert "ledger: uploaded=4 complete=1 quarantined=2 lost=1 duplicate_image_work=0 poison_sent=1" in out
    assert "valid photo not complete: img_odd (vga_640.jpg): UnsupportedFormat: " in out
    assert "quarantined without a reason" not in out
    assert "lost: img_gone (vga_640.jpg, uploads/loadtest/img_gone.jpg)" in out


def test_without_ledgers_or_a_stack_it_says_what_is_missing(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty folder
    with pytest.raises(SystemExit) as done:
        reconcile.main([str(tmp_path)])
    assert done.value.code == 2 and f"no uploads*.jsonl ledger in {tmp_path}" in capsys.readouterr().err
    # And a shell that names no stack
    monkeypatch.delenv("IMGPIPE_DLQ_URL")
    with pytest.raises(SystemExit) as done:
        reconcile.main([str(tmp_path)])
    assert done.value.code == 2 and "set IMGPIPE_DLQ_URL" in capsys.readouterr().err
