"""`imgpipe local up` and `imgpipe demo` refuse what would fail later, before starting anything,
and say why in one line: a worker count below one, settings the workers would refuse, a busy
port; a worker that dies anyway is reported with the last meaningful line of its log."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.motoserver import HOST, free_port
from deploy.local.stack import LocalStack
from deploy.local.workers import last_meaningful_line
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no IMGPIPE_* from the machine)
    invoke,
)

pytestmark = pytest.mark.unit

TRACEBACK = """\
2026-12-01 09:00:00,000 imgpipe.poller INFO polling
Traceback (most recent call last):
  File "/app/worker/handler.py", line 12, in <module>
    runtime = get_runtime()
              ^^^^^^^^^^^^^
shared.errors.ConfigError: invalid configuration: IMGPIPE_MAX_PIXELS must be 1 or more

"""


def nothing_listens(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return False
    except OSError:
        return True


@pytest.mark.parametrize("workers", ["0", "-1"])
@pytest.mark.parametrize("command", ["local up", "demo"])
def test_fewer_than_one_worker_is_refused(tmp_path: Path, command: str, workers: str) -> None:
    # Given a free port
    port = free_port()
    extra = ["--port", str(port), "--logs", "logs"] if command == "local up" else ["--out", "out"]
    # When the stack is asked for no workers, or a negative number of them
    result = invoke(*command.split(), "--workers", workers, *extra)
    # Then it is a usage error and nothing started: no server, no logs, no samples
    assert_failure(result, 2, f"--workers must be 1 or more, not {workers}")
    assert nothing_listens(port)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["local up", "demo"])
@pytest.mark.parametrize(
    ("variable", "value"),
    [("IMGPIPE_VARIANTS", "not json"), ("IMGPIPE_VARIANTS", '[{"name": "x", "fit": "cover"}]'),
     ("IMGPIPE_MAX_PIXELS", "0")],
    ids=["variants-not-json", "variants-cover-without-box", "max-pixels-zero"],
)  # fmt: skip
def test_settings_the_workers_would_refuse_are_refused_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, variable: str, value: str
) -> None:
    # Given a setting every worker would refuse at its cold start
    monkeypatch.setenv(variable, value)
    port = free_port()
    extra = ["--port", str(port), "--logs", "logs"] if command == "local up" else ["--out", "out"]
    # When the stack (or the demo) is started
    result = invoke(*command.split(), *extra)
    # Then the reason names the variable, instead of "a worker process exited", and nothing started
    assert_failure(result, 2, variable)
    assert nothing_listens(port)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "out").exists()


def test_a_busy_port_says_so(tmp_path: Path) -> None:
    # Given something already listening on the port asked for
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        # When the local stack is started on it
        result = invoke("local", "up", "--port", str(port), "--logs", "logs")
    # Then the reason is the port, not "moto server exited with code 1", and no worker started
    assert_failure(result, 1, f"port {port} is already in use", "--port")
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("log", "line"),
    [
        (TRACEBACK, "shared.errors.ConfigError: invalid configuration: IMGPIPE_MAX_PIXELS must be 1 or more"),
        ("started\nimgpipe: invalid configuration: IMGPIPE_VARIANTS not valid JSON\n", "imgpipe: invalid"
         " configuration: IMGPIPE_VARIANTS not valid JSON"),
        ("\n\n", None),
    ],
    ids=["traceback", "one-line-reason", "empty"],
)  # fmt: skip
def test_last_meaningful_line_of_a_worker_log(log: str, line: str | None) -> None:
    assert last_meaningful_line(log) == line


class RunningServer:
    endpoint = "http://127.0.0.1:1"

    def running(self) -> bool:
        return True


def test_a_dead_worker_is_reported_with_its_logs_reason(tmp_path: Path) -> None:
    # Given a stack whose second worker exited after writing a traceback to its log
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "worker-1.log").write_text(TRACEBACK)
    stack = LocalStack(log_dir=logs, workers=2)
    stack.server = RunningServer()  # type: ignore[assignment]
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    dead.wait()
    stack._processes.extend([alive, dead])
    try:
        # When the stack is asked why it is not alive
        alive_now, reason = stack.alive(), stack.failure()
    finally:
        alive.kill()
        alive.wait()
    # Then it names the worker, its exit code and the exception's line, and points at the log
    assert not alive_now
    assert reason.startswith("worker 1 exited with code 3: shared.errors.ConfigError: invalid configuration:")
    assert str(logs / "worker-1.log") in reason


def test_a_worker_batch_lambda_would_refuse_is_refused() -> None:
    # Given more than 10 records per batch and no batching window (Lambda's ESM refuses it)
    result = invoke("worker", "--queue-url", "http://127.0.0.1:9/q", "--batch-size", "50", "--window", "0")
    # Then the command says why before it polls anything, and exits 2
    assert_failure(result, 2, "batching window of at least 1 s")


def test_a_worker_with_an_endpoint_without_scheme_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given AWS_ENDPOINT_URL written without http:// (as a newcomer types it)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:4580")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # When a worker is started
    result = invoke("worker", "--queue-url", "http://127.0.0.1:9/q")
    # Then one line names the variable, exit 2, instead of a traceback
    assert_failure(result, 2, "AWS_ENDPOINT_URL=127.0.0.1:4580")
