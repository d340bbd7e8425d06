"""`dlq redrive` to a queue that does not exist: refused up front, dry run or not, nothing read.

A mistyped `--to` used to pass a dry run unchecked, and a real run read the DLQ, printed `failed 0`
and then "sending stopped: NonExistentQueue". Both queues are now looked up first: one line naming
the option and the URL, exit 1 (SQS answered: the queue does not exist), the DLQ untouched.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from deploy import cli
from tests.integration.conftest import Stack
from tests.integration.test_dlq_operator import seed

pytestmark = pytest.mark.integration

runner = CliRunner()
COUNT = 12


@pytest.fixture
def dlq(stack: Stack) -> Stack:
    """The stack with 12 quarantined messages and the work queue emptied of moto's s3:TestEvent."""
    stack.monkeypatch.setenv("IMGPIPE_QUEUE_URL", stack.topology.queue_url)
    stack.take_all(stack.topology.queue_url, wait_s=1)
    seed(stack, count=COUNT)
    return stack


def invoke(*args: str) -> Result:
    return runner.invoke(cli.app, ["dlq", "redrive", *args], prog_name="imgpipe")


def one_line(result: Result, code: int) -> str:
    assert isinstance(result.exception, SystemExit), f"escaped: {result.exception!r}"
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgpipe: "), result.stderr
    return lines[0]


def untouched(stack: Stack) -> None:
    """Every message still in the DLQ, visible, and never received: nothing read, nothing moved."""
    received: list[dict[str, Any]] = stack.take_all(stack.topology.dlq_url, wait_s=1)
    assert len(received) == COUNT
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in received} == {"1"}
    assert stack.take_all(stack.topology.queue_url) == []


def mistyped(url: str) -> str:
    head, _, name = url.rpartition("/")
    return f"{head}/{name[:-2]}{name[-1]}{name[-2]}"  # two letters swapped: a queue nobody made


@pytest.mark.parametrize(
    "args", [("--dry-run",), ("--yes",), ("--yes", "--json")], ids=["dry-run", "real", "real-json"]
)
def test_a_mistyped_target_is_refused_before_the_dlq_is_read(dlq: Stack, args: tuple[str, ...]) -> None:
    # Given quarantined messages and a target queue URL with a typo
    target = mistyped(dlq.topology.queue_url)
    # When they are redriven there (dry or not)
    result = invoke("--to", target, *args)
    # Then one line names the option and the URL, before anything was read: no table, no summary
    line = one_line(result, 1)
    assert f"--to {target}" in line and "no such queue" in line
    assert result.stdout == ""
    untouched(dlq)


@pytest.mark.parametrize("args", [("--dry-run",), ("--yes",)], ids=["dry-run", "real"])
def test_a_mistyped_dlq_is_refused_naming_its_option(dlq: Stack, args: tuple[str, ...]) -> None:
    # Given a DLQ URL with a typo (the target is right)
    wrong = mistyped(dlq.topology.dlq_url)
    # When a redrive is asked from it
    result = invoke("--dlq-url", wrong, *args)
    # Then one line names --dlq-url and the URL; the real DLQ was not touched
    line = one_line(result, 1)
    assert f"--dlq-url {wrong}" in line and "no such queue" in line
    assert result.stdout == ""
    untouched(dlq)


def test_a_dry_run_to_the_right_queue_still_works(dlq: Stack) -> None:
    # Given the right target, When a dry run is asked, Then it lists every message and moves none
    result = runner.invoke(cli.app, ["dlq", "redrive", "--dry-run", "--json"], prog_name="imgpipe")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["wouldMove"], document["moved"]) == (COUNT, 0)
