"""`imgpipe dlq` usage errors (exit 2, one line, before any AWS call) and `--native` off AWS (exit 1)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner, Result

from deploy import cli
from deploy.cli.dlq.backup import dlq_export, dlq_purge
from deploy.cli.dlq.move_tasks import dlq_cancel, dlq_tasks
from deploy.cli.dlq.read import dlq_list, dlq_show, dlq_stats
from deploy.cli.dlq.redrive import dlq_redrive
from deploy.local.motoserver import free_port
from deploy.ops.dlq import redrive_native
from deploy.ops.dlq.message import known_error_types

pytestmark = pytest.mark.unit

runner = CliRunner()


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """AWS pointed at a port nothing listens on: a command that reached it would exit 1, not 2."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "IMGPIPE_")):
            monkeypatch.delenv(name)
    endpoint = f"http://127.0.0.1:{free_port()}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "IMGPIPE_DLQ_URL": f"{endpoint}/123456789012/imgpipe-dlq",
        "IMGPIPE_QUEUE_URL": f"{endpoint}/123456789012/imgpipe-work",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return endpoint


def invoke(*args: str) -> Result:
    return runner.invoke(cli.app, ["dlq", *args], prog_name="imgpipe")


def one_line(result: Result, code: int) -> str:
    assert isinstance(result.exception, SystemExit), f"escaped: {result.exception!r}"
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgpipe: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["list", "redrive", "export", "purge"])
def test_an_unknown_error_type_is_a_usage_error_listing_the_known_ones(command: str) -> None:
    # Given a typo in the error type, When any filtering command runs with it
    args = {"export": ["out.jsonl"], "purge": ["--yes"], "redrive": ["--yes"]}.get(command, [])
    line = one_line(invoke(command, "--type", "corruptimgae", *args), 2)
    # Then it is refused before anything is read, naming every known type
    assert "unknown error type 'corruptimgae'" in line
    assert line.endswith("known types: " + ", ".join(known_error_types()))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("list", "--older-than", "2 hours"), "not a duration: '2 hours'"),
        (("redrive", "--rate", "fast", "--yes"), "not a rate: 'fast'"),
        (("redrive",), "not a terminal: pass --yes"),
        (("redrive", "--to", ""), "set --to (or IMGPIPE_QUEUE_URL)"),
        (("purge",), "purge deletes messages (every message): pass --yes"),
        (("purge", "--type", "Exhausted"), "purge deletes messages (type Exhausted): pass --yes"),
        (("redrive", "--native", "--type", "CorruptImage", "--yes"), "--native moves every message"),
        (("redrive", "--native", "--rate", "2.5", "--yes"), "whole number from 1 to 500"),
    ],
    ids=[
        "duration",
        "rate",
        "no-tty",
        "no-target",
        "purge-unconfirmed",
        "purge-typed",
        "native-filter",
        "native-rate",
    ],
)
def test_usage_errors_exit_2_before_any_aws_call(args: tuple[str, ...], needle: str) -> None:
    started = time.monotonic()
    assert needle in one_line(invoke(*args), 2)
    assert time.monotonic() - started < 2


def test_export_refuses_to_overwrite_a_file(tmp_path: Path) -> None:
    # Given an existing file
    (tmp_path / "backup.jsonl").write_text("precious\n")
    # When an export is asked to write there without --force
    line = one_line(invoke("export", "backup.jsonl"), 2)
    # Then it is refused and the file is untouched
    assert "backup.jsonl exists; pass --force" in line
    assert (tmp_path / "backup.jsonl").read_text() == "precious\n"


@pytest.mark.parametrize("args", [("redrive", "--native", "--yes"), ("tasks",), ("cancel", "some-handle")])
def test_native_commands_against_a_local_endpoint_are_not_available_here(args: tuple[str, ...]) -> None:
    line = one_line(invoke(*args), 1)
    assert line.startswith("imgpipe: not available here: ")


def test_native_redrive_on_an_endpoint_without_the_operation_is_not_available() -> None:
    # Given a client for SQS on AWS whose endpoint answers that it does not know the operation
    sqs = boto3.Session(region_name="us-east-1").client(
        "sqs", endpoint_url="https://sqs.us-east-1.amazonaws.com"
    )
    dlq = "arn:aws:sqs:us-east-1:123456789012:imgpipe-dlq"
    with Stubber(sqs) as stub:
        stub.add_client_error(
            "start_message_move_task", service_error_code="InvalidAction", http_status_code=400
        )
        # When a move task is started, Then it says the operation is not available there
        with pytest.raises(redrive_native.NotAvailable, match="not available here: .*InvalidAction"):
            redrive_native.start(sqs, dlq)


def test_native_redrive_on_aws_starts_a_task_for_the_dlq() -> None:
    sqs = boto3.Session(region_name="us-east-1").client(
        "sqs", endpoint_url="https://sqs.us-east-1.amazonaws.com"
    )
    dlq = "arn:aws:sqs:us-east-1:123456789012:imgpipe-dlq"
    work = "arn:aws:sqs:us-east-1:123456789012:imgpipe-work"
    with Stubber(sqs) as stub:
        expected = {"SourceArn": dlq, "DestinationArn": work, "MaxNumberOfMessagesPerSecond": 20}
        stub.add_response("start_message_move_task", {"TaskHandle": "handle-1"}, expected)
        task = redrive_native.start(sqs, dlq, work, 20)
    assert task == {
        "taskHandle": "handle-1",
        "sourceArn": dlq,
        "destinationArn": work,
        "maxNumberOfMessagesPerSecond": 20,
    }


@pytest.mark.parametrize(
    "command",
    [
        dlq_stats,
        dlq_list,
        dlq_show,
        dlq_export,
        dlq_purge,
        dlq_redrive,
        dlq_tasks,
        dlq_cancel,
    ],  # fmt: skip
    ids=lambda f: f.__name__,
)
def test_each_json_shape_is_in_the_help(command: Callable[..., None]) -> None:
    name = command.__name__.removeprefix("dlq_")
    result = invoke(name, "--help")
    assert result.exit_code == 0, result.output
    assert "--json" in result.stdout and '"' in (command.__doc__ or "")  # the shape is documented


@pytest.mark.parametrize(
    "args", [("dlq", "stats"), ("dlq", "list"), ("dlq", "redrive", "--yes"), ("status",)], ids=" ".join
)
def test_a_stopped_stack_fails_fast_in_one_line(
    args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given AWS_ENDPOINT_URL pointing at a stack that is not running, and botocore's default retries
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    # When a command that reads the DLQ runs
    started = time.monotonic()
    result = runner.invoke(cli.app, list(args), prog_name="imgpipe")
    # Then it fails in about a second with one line saying what it could not reach
    assert "cannot reach" in one_line(result, 1)
    assert time.monotonic() - started < 5
