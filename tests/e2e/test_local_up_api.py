"""`imgpipe local up` serves the client API: its export lines name the API and the user pool, a
token from `imgpipe login` gets past the front door where none does not, and Ctrl-C stops the
front door with everything else."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deploy.local.motoserver import free_port
from tests.child_process import Output, sigint
from tests.e2e.support import processes_using_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def exports(text: str) -> dict[str, str]:
    """NAME -> value of every `export NAME=value` line."""
    found = {}
    for line in text.splitlines():
        name, equals, value = line.strip().removeprefix("export ").partition("=")
        if line.strip().startswith("export ") and equals:
            found[name] = value
    return found


def status_of(url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_local_up_serves_the_api_behind_sign_in_and_stops_it(tmp_path: Path) -> None:
    # Given `imgpipe local up` on free ports, up and printing its export lines
    port, api_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGPIPE_", "AWS_"))}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "deploy.cli", "local", "up", "--port", str(port),
               "--api-port", str(api_port), "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=sigint(signal.SIG_DFL),
    )  # fmt: skip
    output = Output(process)
    try:
        assert output.wait_for("(Ctrl-C here stops everything)", timeout_s=90), output.text
        printed = exports(output.text)
        # Then the API's URL, the pool and its app client are among them
        assert printed["IMGPIPE_API_URL"] == f"http://127.0.0.1:{api_port}"
        assert printed["IMGPIPE_USER_POOL_ID"].startswith("us-east-1_")
        assert printed["IMGPIPE_USER_POOL_CLIENT_ID"]
        # When a user signs in with the exports pasted, as the banner says
        signed = subprocess.run(
            [sys.executable, "-m", "deploy.cli", "login", "--user", "alice"], env={**env, **printed},
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert signed.returncode == 0, signed.stderr
        token = signed.stdout.strip()
        # Then the front door turns away a request without it, and the API answers one with it
        url = f"{printed['IMGPIPE_API_URL']}/v1/images"
        assert status_of(url, None) == 401
        assert status_of(url, token) == 200
        # When Ctrl-C is pressed
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=90)
        leftovers = processes_using_port(port) + processes_using_port(api_port)
    finally:
        _stop(process, port, api_port)
    # Then the stack stopped whole, front door included
    assert code == 0, output.rest()
    assert leftovers == []


def _stop(process: subprocess.Popen[str], *ports: int) -> None:
    """Whatever happened, leave nothing running: the command, then what it started (named by port)."""
    if process.poll() is None:
        process.kill()
        process.wait()
    for port in ports:
        for leftover in processes_using_port(port):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(leftover.split(":")[0]), signal.SIGKILL)
