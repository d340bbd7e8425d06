"""A worker process closes its AWS clients on every way out: nothing reports an unclosed session.

aiohttp sessions can only be closed on the event loop that made them; one left to the garbage
collector prints `Unclosed client session` on stderr. These tests stop real `imgpipe worker`
processes against the moto server (SIGTERM, Ctrl-C, and the per-batch loops powertools uses when
LAMBDA_TASK_ROOT is empty), and break the poller of an in-process consumer (an error).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.local import consumer, samples
from deploy.local.motoserver import MotoServer
from deploy.local.poller import Poller
from deploy.local.topology import QueueSettings, Topology, provision
from worker.runtime import get_runtime

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 20  # fits the default 15 s record budget


@pytest.fixture
def queue(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Topology:
    """A fresh topology with one upload waiting on the work queue."""
    moto_server.reset()
    for name in list(os.environ):
        if name.startswith(("IMGPIPE_", "AWS_")) or name == "LAMBDA_TASK_ROOT":
            monkeypatch.delenv(name)
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session(region_name=moto_server.region)
    topology = provision(session, prefix="shutdown", queue=QueueSettings.for_timeout(TIMEOUT_S))
    monkeypatch.setenv("IMGPIPE_OUTPUT_BUCKET", topology.output_bucket)
    monkeypatch.setenv("IMGPIPE_DLQ_URL", topology.dlq_url)
    body = samples.jpeg(samples.photo(320, 240, 1))
    session.client("s3").put_object(Bucket=topology.input_bucket, Key="uploads/u1/photo.jpg", Body=body)
    return topology


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _queue_taken(topology: Topology) -> bool:
    """True once nothing waits on the queue: the worker has received every message."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=topology.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == "0"


@pytest.mark.parametrize(
    ("stop", "extra_env"),
    [
        pytest.param(signal.SIGTERM, {}, id="sigterm"),
        pytest.param(signal.SIGINT, {}, id="ctrl-c"),
        # Empty, powertools runs each batch in its own asyncio.run loop: clients were left behind.
        pytest.param(signal.SIGTERM, {"LAMBDA_TASK_ROOT": ""}, id="sigterm-loop-per-batch"),
        # Only the contract's AWS_REGION (as a hand-run worker has it): boto3 alone reads neither.
        pytest.param(signal.SIGTERM, {"AWS_DEFAULT_REGION": None}, id="aws-region-only"),
    ],
)
def test_a_stopped_worker_leaves_no_unclosed_session(
    queue: Topology, tmp_path: Path, stop: signal.Signals, extra_env: dict[str, str | None]
) -> None:
    # Given an `imgpipe worker` process consuming a queue with an upload on it
    stderr_path = tmp_path / "stderr.log"
    command = [sys.executable, "-m", "deploy.cli", "worker", "--queue-url", queue.queue_url]
    command += ["--timeout", str(TIMEOUT_S), "--window", "0"]
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={
                name: value
                for name, value in {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", **extra_env}.items()
                if value is not None
            },
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            # When it has built its AWS clients and taken the upload, and is then stopped
            _wait_for(lambda: b"aiobotocore.credentials" in stderr_path.read_bytes(), "the worker's clients")
            _wait_for(lambda: _queue_taken(queue), "the worker to receive the upload")
            process.send_signal(stop)
            stdout, _ = process.communicate(timeout=TIMEOUT_S + 30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    # Then it exits cleanly after its batch, and nothing reports a session left open
    errors = stderr_path.read_text()
    assert process.returncode == 0, errors
    assert "Unclosed" not in errors, errors
    assert b"Unclosed" not in stdout


def test_a_worker_whose_poller_fails_closes_its_clients(
    queue: Topology, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a consumer in this process whose poller breaks after one batch
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(ROOT))  # restored afterwards, whatever consume sets
    monkeypatch.setenv("IMGPIPE_FUNCTION_TIMEOUT_S", str(TIMEOUT_S))
    handled: list[Any] = []

    def one_batch_then_break(self: Poller, should_stop: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not handled and time.monotonic() < deadline:
            result = self.poll_once()
            if result is not None:
                handled.append(result)
        raise RuntimeError("the poller broke")

    monkeypatch.setattr(Poller, "run", one_batch_then_break)
    get_runtime.cache_clear()
    try:
        # When it runs and the error escapes
        with pytest.raises(RuntimeError, match="the poller broke"):
            consumer.consume(queue.queue_url, batch_size=10, window_s=0, timeout_s=TIMEOUT_S)
        assert handled and handled[0].received >= 1  # the upload (and moto's s3:TestEvent)
    finally:
        get_runtime.cache_clear()  # forget the runtime: its clients, if still open, are collected now
    # Then collecting them reports nothing, as a warning or through asyncio's logger
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR, "asyncio"):
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)]
    assert "Unclosed" not in caplog.text
