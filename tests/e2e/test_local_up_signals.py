"""`imgpipe local up` stops on Ctrl-C however it was started: also when its shell started it with
SIGINT ignored (`imgpipe local up &` in a script, some CI runners), which Python keeps as is."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.motoserver import free_port
from tests.child_process import Output, sigint
from tests.e2e.support import processes_using_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "sigint_at_start", [signal.SIG_DFL, signal.SIG_IGN], ids=["foreground", "started-with-sigint-ignored"]
)
def test_ctrl_c_stops_the_stack_and_everything_it_started(tmp_path: Path, sigint_at_start: int) -> None:
    # Given `imgpipe local up` with one worker, up and printing its export lines
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGPIPE_", "AWS_"))}
    command = [sys.executable, "-m", "deploy.cli", "local", "up", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(
        command, env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=sigint(signal.Handlers(sigint_at_start)),
    )  # fmt: skip
    output = Output(process)
    try:
        assert output.wait_for("(Ctrl-C here stops everything)", timeout_s=90), output.text
        # When Ctrl-C is pressed
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
        leftovers = processes_using_port(port)
    finally:
        _stop(process, port)
    # Then it says so, stops its server and worker, and exits 0
    assert code == 0, output.rest()
    rest = output.rest()
    assert "stopping: workers finish their batch" in rest
    assert "stopped; the stack's state" in rest.split("stopping: workers")[-1]
    assert leftovers == []


def _stop(process: subprocess.Popen[str], port: int) -> None:
    """Whatever happened, leave nothing running: the command, then what it started (named by port)."""
    if process.poll() is None:
        process.kill()
        process.wait()
    for leftover in processes_using_port(port):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(leftover.split(":")[0]), signal.SIGKILL)
