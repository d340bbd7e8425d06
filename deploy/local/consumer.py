"""`imgpipe worker`: the poller as a long-running process, locally or against real SQS.

The same loop serves the embedded stack and containers on ECS/EC2 that consume the queue
instead of Lambda. SIGTERM and Ctrl-C stop it after the batch in flight.

The process owns one event loop, made before the handler's cold start, as a Lambda container
has one: every batch runs on it, and every way out (a signal, an error) closes the handler's
AWS clients on it before the loop is closed, so nothing is left for the garbage collector.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import boto3

from deploy.local.poller import Poller, PollerConfig
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
    # As in Lambda: powertools runs every batch on the process's loop only when this is set
    # (not empty), and the worker's own cold-start check sees the timeout it runs under.
    if not os.environ.get("LAMBDA_TASK_ROOT"):
        os.environ["LAMBDA_TASK_ROOT"] = os.getcwd()
    os.environ[TIMEOUT_VARIABLE] = repr(float(timeout_s))
    stop = threading.Event()
    with _stopped_by_signals(stop.set), _process_loop() as loop:
        try:
            from worker.handler import handler  # the cold start: settings validated here

            # boto3 reads only AWS_DEFAULT_REGION; Lambda, ECS and the contract also name AWS_REGION.
            session = boto3.Session(region_name=os.environ.get("AWS_REGION") or None)
            sqs = session.client("sqs")
            attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
            config = PollerConfig(
                queue_url=queue_url,
                queue_arn=str(attributes["Attributes"]["QueueArn"]),
                region=session.region_name or "us-east-1",
                batch_size=batch_size,
                batching_window_s=window_s,
                function_timeout_s=timeout_s,
            )
            Poller(sqs, handler, config).run(stop.is_set)
        finally:
            _close_runtime(loop)


@contextmanager
def _stopped_by_signals(request_stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT ask for a stop after the batch in flight; the old handlers come back after."""

    def handle(signum: int, frame: FrameType | None) -> None:
        request_stop()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def _process_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The loop powertools will find (`asyncio.get_event_loop()`) and run every batch on."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _close_runtime(loop: asyncio.AbstractEventLoop) -> None:
    """Close the handler's clients on the loop that made them, and stop its thread pool."""
    from worker.runtime import get_runtime

    if not get_runtime.cache_info().currsize:
        return  # the cold start failed or never ran: there is nothing to close
    runtime = get_runtime()
    loop.run_until_complete(runtime.aws.close())
    runtime.executor.shutdown(wait=True)
