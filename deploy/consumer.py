"""`imgpipe worker`: the poller as a long-running process, locally or against real SQS.

The same loop serves the embedded stack and containers on ECS/EC2 that consume the queue
instead of Lambda. SIGTERM and Ctrl-C stop it after the batch in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from types import FrameType

import boto3

from deploy.poller import Poller, PollerConfig
from shared.errors import ConfigError
from shared.settings import ENV_PREFIX, SAFETY_S, load_timing, shortest_timeout_s

TIMEOUT_VARIABLE = f"{ENV_PREFIX}FUNCTION_TIMEOUT_S"
BUDGET_VARIABLE = f"{ENV_PREFIX}RECORD_BUDGET_MS"


class TimeoutTooShort(ConfigError):
    """The function timeout cannot hold one record's budget, so no record would ever start."""


def check_timeout(timeout_s: float) -> None:
    """Refuse a `--timeout` that the workers' record budget (IMGPIPE_RECORD_BUDGET_MS) does not fit."""
    budget_ms = load_timing(function_timeout_s=None).record_budget_ms
    shortest = shortest_timeout_s(budget_ms)
    if timeout_s < shortest:
        raise TimeoutTooShort(
            f"--timeout {timeout_s:g} cannot fit {BUDGET_VARIABLE}={budget_ms}: a record is started only"
            f" with its budget plus {SAFETY_S:g} s left, so none would ever start; use --timeout"
            f" {shortest:g} or more, or lower {BUDGET_VARIABLE}"
        )


def consume(queue_url: str, batch_size: int, window_s: float, timeout_s: float) -> None:
    """Poll `queue_url` and feed `worker.handler.handler` until signalled."""
    check_timeout(timeout_s)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.environ.setdefault("LAMBDA_TASK_ROOT", os.getcwd())  # one event loop for the process, as in Lambda
    os.environ[TIMEOUT_VARIABLE] = repr(float(timeout_s))  # the worker's cold start checks it too
    from worker.handler import handler  # the cold start: settings validated here

    session = boto3.Session()
    sqs = session.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    config = PollerConfig(
        queue_url=queue_url,
        queue_arn=str(arn),
        region=session.region_name or "us-east-1",
        batch_size=batch_size,
        batching_window_s=window_s,
        function_timeout_s=timeout_s,
    )
    try:
        Poller(sqs, handler, config).run(stop.is_set)
    finally:
        _close_clients()


def _close_clients() -> None:
    # The handler's clients live on the event loop powertools keeps for the process (as in
    # Lambda); close their connections before exiting instead of leaving them to the GC.
    from worker.runtime import get_runtime

    with contextlib.suppress(RuntimeError):
        asyncio.get_event_loop().run_until_complete(get_runtime().aws.close())
