"""The `imgpipe` command line: help texts, and expected failures as one-line reasons, not tracebacks."""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from deploy import cli
from deploy.cli import demo as cli_demo
from deploy.cli import local as cli_local
from deploy.cli import pipeline as cli_pipeline
from deploy.cli import render as cli_render
from deploy.cli import reprocess as cli_maintenance
from deploy.cli import status as cli_status
from deploy.cli import sweep as cli_sweep
from deploy.cli import upload as cli_upload
from deploy.cli.dlq import read as cli_dlq_read
from deploy.cli.dlq import redrive as cli_dlq_redrive
from deploy.local import samples
from deploy.local.motoserver import free_port

pytestmark = pytest.mark.unit

runner = CliRunner()

COMMANDS: dict[tuple[str, ...], Callable[..., Any]] = {
    ("render",): cli_render.render,
    ("demo",): cli_demo.demo,
    ("local", "up"): cli_local.local_up,
    ("worker",): cli_local.worker,
    ("upload",): cli_upload.upload,
    ("reprocess",): cli_maintenance.reprocess,
    ("sweep",): cli_sweep.sweep,
    ("presign", "upload"): cli_pipeline.presign_upload,
    ("presign", "download"): cli_pipeline.presign_download,
    ("status",): cli_status.status,
    ("dlq", "stats"): cli_dlq_read.dlq_stats,
    ("dlq", "list"): cli_dlq_read.dlq_list,
    ("dlq", "redrive"): cli_dlq_redrive.dlq_redrive,
}


@pytest.fixture(autouse=True)
def hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS configuration from the machine running the tests, and tmp_path as the working folder."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "IMGPIPE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    return runner.invoke(cli.app, list(args), prog_name="imgpipe")


def flat(text: str) -> str:
    """Rich wraps to the console width; compare text with runs of whitespace made single spaces."""
    return " ".join(text.split())


def summary(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function)
    assert doc
    return doc.splitlines()[0]


def assert_failure(result: Result, code: int, *needles: str) -> str:
    """Exit `code` through `typer.Exit` (no escaped exception) and one `imgpipe: ...` line on stderr."""
    assert isinstance(result.exception, SystemExit), f"escaped (a traceback for users): {result.exception!r}"
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"not one line: {result.stderr!r}"
    assert lines[0].startswith("imgpipe: ")
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def write_photo(path: Path, width: int = 400, height: int = 300) -> Path:
    path.write_bytes(samples.jpeg(samples.photo(width, height, 1)))
    return path


def aws_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, region: bool = True) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    if region:
        # botocore reads its region from AWS_DEFAULT_REGION; AWS_REGION alone is not enough.
        monkeypatch.setenv("AWS_REGION", "us-east-1")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


# --------------------------------------------------------------------------- help


def test_top_level_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert flat(cli.app.info.help or "") in text
    for name in ("render", "demo", "local", "worker", "upload", "presign", "status", "reprocess", "sweep"):
        assert f" {name} " in text, name


@pytest.mark.parametrize("command", list(COMMANDS), ids=" ".join)
def test_each_command_help_shows_its_description(command: tuple[str, ...]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert f"Usage: imgpipe {' '.join(command)}" in text
    assert flat(summary(COMMANDS[command])) in text


@pytest.mark.parametrize("group", ["local", "presign"])
def test_group_help_lists_its_commands(group: str) -> None:
    result = invoke(group, "--help")
    assert result.exit_code == 0, result.output
    for command in (c for c in COMMANDS if c[0] == group):
        assert f" {command[1]} " in flat(result.stdout)


# --------------------------------------------------------------------------- expected failures


def test_upload_of_a_missing_path_exits_2() -> None:
    assert_failure(invoke("upload", "missing.jpg"), 2, "no such file or folder: missing.jpg")


def test_upload_with_an_invalid_user_exits_2(tmp_path: Path) -> None:
    write_photo(tmp_path / "photo.jpg")
    assert_failure(invoke("upload", "photo.jpg", "--user", "bad user"), 2, "'bad user'")


def test_upload_to_an_unreachable_endpoint_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    aws_env(monkeypatch, endpoint)
    write_photo(tmp_path / "photo.jpg")
    result = invoke("upload", "photo.jpg")
    assert isinstance(result.exception, SystemExit), f"escaped: {result.exception!r}"
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    # Compare unfolded, so the check does not depend on how a terminal would wrap the line.
    unfolded = "".join(result.stderr.splitlines())
    assert unfolded.startswith("imgpipe: cannot reach ")
    assert f"{endpoint}/imgpipe-input/uploads/cli/" in unfolded


def test_long_reason_stays_on_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The width rich picks when no standard stream is a terminal (CI) and COLUMNS is unset; pinned
    # so the result does not depend on the terminal pytest happens to run in.
    monkeypatch.setattr(cli.err, "_width", 80)
    aws_env(monkeypatch, f"http://127.0.0.1:{free_port()}")
    write_photo(tmp_path / "photo.jpg")
    assert_failure(invoke("upload", "photo.jpg"), 1, "cannot reach")


@pytest.mark.parametrize(
    "args",
    [
        ("upload", "photo.jpg"),
        ("status", "--queue-url", "http://127.0.0.1:9/q", "--dlq-url", "http://127.0.0.1:9/d"),
        ("presign", "upload", "photo.jpg"),
    ],
    ids=["upload", "status", "presign-upload"],
)
def test_missing_region_is_a_one_line_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...]
) -> None:
    aws_env(monkeypatch, f"http://127.0.0.1:{free_port()}", region=False)
    write_photo(tmp_path / "photo.jpg")
    line = assert_failure(invoke(*args), 2)  # a missing setting is a usage error, as the README says
    assert "region" in line.lower()


def test_status_without_queue_urls_exits_2() -> None:
    assert_failure(invoke("status"), 2, "--queue-url", "--dlq-url")


def test_render_of_a_folder_without_images_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    assert_failure(invoke("render", "empty", "--out", "out"), 2, "no image files in empty")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("timeout", "budget_ms"),
    [("1", None), ("15", None), ("10", "9600")],
    ids=["1s-default-budget", "15s-default-budget", "10s-9600ms"],
)
def test_worker_refuses_a_timeout_the_record_budget_does_not_fit(
    monkeypatch: pytest.MonkeyPatch, timeout: str, budget_ms: str | None
) -> None:
    # Given a record budget (15 s by default) and a function timeout shorter than it plus 0.5 s
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    if budget_ms is not None:
        monkeypatch.setenv("IMGPIPE_RECORD_BUDGET_MS", budget_ms)
    # When the worker is started with that timeout (an endpoint nothing listens on: it must not get there)
    result = invoke("worker", "--queue-url", f"http://127.0.0.1:{free_port()}/q", "--timeout", timeout)
    # Then it is a usage error naming the option and the variable, and the process was left as it was
    line = assert_failure(result, 2, f"--timeout {timeout} ", "IMGPIPE_RECORD_BUDGET_MS")
    assert f"IMGPIPE_RECORD_BUDGET_MS={budget_ms or 15000}" in line
    assert "IMGPIPE_FUNCTION_TIMEOUT_S" not in os.environ and "LAMBDA_TASK_ROOT" not in os.environ


def test_worker_with_an_invalid_record_budget_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a record budget that is not a number
    monkeypatch.setenv("IMGPIPE_RECORD_BUDGET_MS", "fifteen seconds")
    # When a worker is started with it
    result = invoke("worker", "--queue-url", f"http://127.0.0.1:{free_port()}/q")
    # Then it is a usage error (a setting is the command's input, as an option is) naming the variable
    assert_failure(result, 2, "IMGPIPE_RECORD_BUDGET_MS")


def test_local_up_refuses_a_timeout_the_record_budget_does_not_fit(tmp_path: Path) -> None:
    # Given the default record budget (15 s) and a free port for the server
    port = free_port()
    # When the local stack is asked for 10 s workers
    result = invoke("local", "up", "--port", str(port), "--timeout", "10", "--logs", "logs")
    # Then it is refused as a usage error before anything started: no server, no worker logs
    assert_failure(result, 2, "--timeout 10 ", "IMGPIPE_RECORD_BUDGET_MS=15000")
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass
    assert not (tmp_path / "logs").exists()


def test_console_script_failure_has_no_traceback(tmp_path: Path) -> None:
    """The real entry point, stderr piped: what a user or CI log sees."""
    completed = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "upload", "missing.jpg"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).resolve().parents[2])},
        timeout=60,
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip() == "imgpipe: no such file or folder: missing.jpg"


# --------------------------------------------------------------------------- render


def test_render_writes_five_variants(tmp_path: Path) -> None:
    write_photo(tmp_path / "photo.jpg", 800, 600)
    result = invoke("render", "photo.jpg", "--out", "out")
    assert result.exit_code == 0, result.output
    assert result.exception is None
    written = sorted(p.name for p in (tmp_path / "out" / "photo").iterdir())
    assert written == ["large.jpg", "medium.jpg", "original.jpg", "small.jpg", "thumbnail.jpg"]
    with Image.open(tmp_path / "out" / "photo" / "thumbnail.jpg") as thumbnail:
        assert thumbnail.size == (150, 150)
    with Image.open(tmp_path / "out" / "photo" / "original.jpg") as original:
        assert original.size == (800, 600)
    assert "thumbnail=150x150" in result.stdout


def test_render_of_only_bad_files_exits_1_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("this is a text file, not an image\n")
    result = invoke("render", "notes.png", "--out", "out")
    assert isinstance(result.exception, SystemExit), f"escaped: {result.exception!r}"
    assert result.exit_code == 1
    assert "UnsupportedFormat" in result.stdout
    assert not (tmp_path / "out").exists()
