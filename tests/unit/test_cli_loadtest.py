"""`imgpipe loadtest` hands everything to `python -m loadtest.run`, and says what is missing."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from deploy.cli import app
from tests.child_process import Output, sigint

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _imgpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", "loadtest", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60,
    )  # fmt: skip


def test_help_is_the_runners_own_under_the_commands_name() -> None:
    # When a user asks `imgpipe loadtest --help`
    done = _imgpipe("--help")
    # Then the runner's options are listed, under `imgpipe loadtest`, and it exits 0
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: imgpipe loadtest")
    for option in ("--scenario", "--images", "--rate", "--users", "--target", "--redrive-every"):
        assert option in done.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--scenario", "nope"], "invalid choice: 'nope'"),
        (["--scenario", "steady"], "--scenario steady needs --rate R"),
        (["--redrive-every", "0"], "--redrive-every must be above 0 (got 0)"),
    ],
)
def test_a_bad_option_is_the_runners_usage_error(args: list[str], needle: str) -> None:
    # When the command is given an option the runner refuses
    done = _imgpipe(*args)
    # Then the runner says why and the command exits 2, having started nothing
    assert done.returncode == 2
    assert needle in done.stderr


def test_without_locust_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an install without the `load` extra
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "locust" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    # When the load test is asked for
    result = CliRunner().invoke(app, ["loadtest", "--images", "10"])
    # Then it names the extra to install and exits 2
    assert result.exit_code == 2
    assert "pip install 'imgpipe[load]'" in result.output


CHILD = """
import time
try:
    print("ready", flush=True)
    time.sleep(120)
except KeyboardInterrupt:
    print("stopped cleanly", flush=True)
    raise SystemExit(130)
"""
PARENT = """
import sys
from deploy.cli.loadtest import run_forwarding_signals
sys.exit(run_forwarding_signals([sys.executable, "-c", sys.argv[1]], {}))
"""


@pytest.mark.parametrize(
    "sigint_at_start", [signal.SIG_DFL, signal.SIG_IGN], ids=["foreground", "started-with-sigint-ignored"]
)
def test_ctrl_c_reaches_the_runner_however_the_command_was_started(sigint_at_start: int) -> None:
    # Given the command running a runner that stops cleanly on Ctrl-C, started with SIGINT as given
    process = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, text=True, preexec_fn=sigint(signal.Handlers(sigint_at_start)),
    )  # fmt: skip
    output = Output(process)
    try:
        assert output.wait_for("ready", timeout_s=30), output.text
        # When Ctrl-C is pressed
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then the runner got it once, stopped cleanly, and its exit code is the command's
    assert (code, output.rest()) == (130, "ready\nstopped cleanly\n")
