"""Ctrl-C before any upload starts (choosing files in a big folder takes a while) still says so."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, NoReturn

import pytest
from typer.testing import CliRunner

from deploy import cli
from deploy.cli import upload as upload_command

pytestmark = pytest.mark.unit


def test_ctrl_c_while_files_are_chosen_says_nothing_was_uploaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a folder whose files are still being looked at when Ctrl-C comes
    def interrupted(*_: Any, **__: Any) -> NoReturn:
        raise KeyboardInterrupt

    monkeypatch.setattr(upload_command, "collect_files", interrupted)
    previous = signal.getsignal(signal.SIGINT)
    try:
        # When the upload is interrupted then
        result = CliRunner().invoke(cli.app, ["upload", str(tmp_path), "--user", "alice"])
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Then it says nothing was uploaded, and exits 130 as an interrupted run does
    assert result.exit_code == 130, result.output
    assert "interrupted while choosing the files; nothing was uploaded" in result.output
