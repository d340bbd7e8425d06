"""Usage errors from the real entry point: one line naming the problem, exit 2, no box, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["status", "--bogus"], "No such option: --bogus"),
        (["dlq", "list", "--limit", "0"], "Invalid value for '--limit'"),
        (["local", "up", "--timeout", "0"], "Invalid value for '--timeout'"),
        (["local", "up", "--bulk-cpu-share", "1.5"], "Invalid value for '--bulk-cpu-share'"),
        (["nosuchcmd"], "No such command 'nosuchcmd'"),
        (["dlq", "show"], "Missing argument 'MESSAGE'"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    # Given the console entry point, When it is called wrongly
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    # Then it says what is wrong in one line, points at --help, and exits 2
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("imgpipe: ") and needle in lines[0], done.stderr
    assert "--help" in lines[0] and done.stdout == ""


def test_help_still_prints_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "Usage: imgpipe" in done.stdout
