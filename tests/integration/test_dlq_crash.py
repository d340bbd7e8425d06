"""A redrive that breaks halfway loses nothing: at worst a message is in both queues.

Two ways to break it: the DLQ refuses the delete after the send succeeded (a botocore before-send
hook on the CLI's own SQS client), and the process is SIGKILLed mid-run (a real subprocess, slowed
with --rate so there is a middle to kill it in).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from typer.testing import CliRunner

from deploy import cli
from deploy.cli import common
from deploy.cli.dlq import redrive as dlq_redrive_command
from deploy.ops.status import queue_depth
from tests.integration.conftest import Stack
from tests.integration.test_dlq_operator import all_bodies, seed

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

pytestmark = pytest.mark.integration

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._body


def _refuse_every_entry(request: AWSPreparedRequest, **_: object) -> AWSResponse:
    """DeleteMessageBatch answered 200 with every entry failed (the partial failure to check for)."""
    assert isinstance(request.body, bytes | str)  # a JSON request's body, as botocore serialises it
    entries = json.loads(request.body)["Entries"]
    failed = [
        {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"} for e in entries
    ]
    body = json.dumps({"Successful": [], "Failed": failed}).encode()
    headers = HTTPHeaders.from_dict({"content-type": "application/x-amz-json-1.0"})
    return AWSResponse(request.url, 200, headers, _Raw(body))


def _refuse_the_call(request: AWSPreparedRequest, **_: object) -> AWSResponse:
    """DeleteMessageBatch refused outright (AccessDenied: not retried)."""
    body = json.dumps(
        {"__type": "com.amazon.coral.service#AccessDeniedException", "message": "injected"}
    ).encode()
    headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-query-error": "AccessDenied;Sender"}
    return AWSResponse(request.url, 403, HTTPHeaders.from_dict(headers), _Raw(body))


@pytest.fixture
def dlq(stack: Stack) -> Stack:
    stack.monkeypatch.setenv("IMGPIPE_QUEUE_URL", stack.topology.queue_url)
    stack.take_all(stack.topology.queue_url, wait_s=1)
    return stack


@pytest.mark.parametrize("hook", [_refuse_every_entry, _refuse_the_call], ids=["entries-fail", "call-fails"])
def test_a_delete_that_fails_after_the_send_loses_nothing(
    dlq: Stack, hook: Callable[..., AWSResponse]
) -> None:
    # Given 30 quarantined messages, and a CLI whose DLQ deletes fail
    made = seed(dlq, count=30)

    def failing_clients() -> tuple[S3Client, SQSClient]:
        s3, sqs = common.clients()
        # botocore sends no request a before-send handler answers; its stubs type handlers as returning None
        sqs.meta.events.register("before-send.sqs.DeleteMessageBatch", hook)  # type: ignore[arg-type]
        return s3, sqs

    dlq.monkeypatch.setattr(dlq_redrive_command, "clients", failing_clients)
    # When they are redriven
    result = runner.invoke(cli.app, ["dlq", "redrive", "--yes", "--json"], prog_name="imgpipe")
    # Then the command failed, saying so in one line, and reported what was sent but not deleted
    assert result.exit_code == 1, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    document = json.loads(result.stdout)
    assert document["moved"] == 0 and document["notDeleted"] >= 10
    # And every original is still in the DLQ, visible at once; the sent ones are also in the work queue
    assert queue_depth(dlq.sqs, dlq.topology.dlq_url).visible == 30
    originals = Counter(s.body for s in made)
    assert all_bodies(dlq, dlq.topology.dlq_url) == originals
    sent = all_bodies(dlq, dlq.topology.queue_url)
    assert sum(sent.values()) == document["notDeleted"] and set(sent) <= set(originals)


def test_a_redrive_killed_mid_run_loses_nothing(dlq: Stack, tmp_path: Path) -> None:
    # Given 40 quarantined messages and a real redrive process moving them at 5 a second
    made = seed(dlq, count=40)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "deploy.cli", "dlq", "redrive", "--rate", "5", "--hold", "5", "--yes"]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        # When it is SIGKILLed once some, not all, have reached the work queue
        deadline = time.monotonic() + 30
        while queue_depth(dlq.sqs, dlq.topology.queue_url).visible < 12 and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Then, once its holds have lapsed, every original is in the DLQ or the work queue (or both)
    assert process.returncode == -signal.SIGKILL
    time.sleep(5.5)
    in_dlq, in_work = all_bodies(dlq, dlq.topology.dlq_url), all_bodies(dlq, dlq.topology.queue_url)
    originals = Counter(s.body for s in made)
    assert set(originals) <= set(in_dlq) | set(in_work), "a message was lost"
    assert set(in_dlq) | set(in_work) == set(originals)
    # And it was killed mid-run: some had moved, some had not
    assert 12 <= len(in_work) < 40 and len(in_dlq) > 0
