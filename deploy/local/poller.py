"""Lambda's SQS event source mapping, as a loop: the local stack's consumer and `imgpipe worker`.

Per batch it does what the mapping does: long-poll up to the batch size, keep collecting for the
batching window, call the handler with a context that runs out at the function timeout, delete
what succeeded, and leave the rest to reappear after the visibility timeout. If the handler
raises, overruns its timeout or names a record that is not in the batch, the whole batch stays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from deploy.local.esm import LocalContext, lambda_event

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef, MessageTypeDef

Handler = Callable[[dict[str, Any], LocalContext], dict[str, Any]]
log = logging.getLogger("imgpipe.poller")
RECEIVE_MAX = 10  # SQS returns at most 10 messages per ReceiveMessage
STOP_CHECK_S = 0.1
BACKOFF_FIRST_S, BACKOFF_MAX_S = 1.0, 30.0  # after SQS failures, as the mapping backs off
REPORT = "REPORT RequestId: %s Duration: %.2f ms Records: %d"  # as Lambda logs each invocation


@dataclass(frozen=True)
class PollerConfig:
    """The event source mapping's settings (the same names Terraform uses)."""

    queue_url: str
    queue_arn: str
    region: str
    batch_size: int = 10
    batching_window_s: float = 0.0
    function_timeout_s: float = 60.0
    idle_wait_s: int = 2  # long-poll length while idle; bounds how fast a stop is noticed


@dataclass(frozen=True)
class BatchResult:
    """What happened to one batch."""

    received: int
    deleted: int
    left: int
    reason: str  # "ok", "partial", "raised", "timeout", "invalid response"


class Poller:
    """Feeds one queue to one handler, batch after batch, as one Lambda concurrency slot would."""

    def __init__(self, sqs: SQSClient, handler: Handler, config: PollerConfig) -> None:
        self.sqs = sqs
        self.handler = handler
        self.config = config

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Poll until `should_stop()` is true; an in-flight batch is always finished first."""
        failures = 0
        while not should_stop():
            try:
                result = self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                # Like the event source mapping, keep polling through SQS hiccups, backing off.
                failures += 1
                log.warning("polling failed (%s); retrying", exc)
                _pause(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (failures - 1)), should_stop)
                continue
            failures = 0
            if result is not None and result.reason != "ok":
                log.warning(
                    "batch of %d: %s, %d left on the queue", result.received, result.reason, result.left
                )

    def poll_once(self) -> BatchResult | None:
        """Receive one batch and process it; None when the queue stayed empty."""
        messages = self.receive_batch()
        return self.invoke(messages) if messages else None

    def receive_batch(self) -> list[MessageTypeDef]:
        """Up to `batch_size` messages: the first long poll, then whatever the window collects."""
        config = self.config
        messages = self._receive(min(RECEIVE_MAX, config.batch_size), config.idle_wait_s)
        window_ends = time.monotonic() + config.batching_window_s
        while messages and len(messages) < config.batch_size:
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            wanted = min(RECEIVE_MAX, config.batch_size - len(messages))
            messages += self._receive(wanted, min(20, max(1, round(remaining))))
        # A message whose visibility lapsed inside the window comes back: keep its newest receipt.
        return list({m["MessageId"]: m for m in messages}.values())

    def _receive(self, count: int, wait_s: int) -> list[MessageTypeDef]:
        response = self.sqs.receive_message(
            QueueUrl=self.config.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def invoke(self, messages: list[MessageTypeDef]) -> BatchResult:
        """Call the handler on one batch and settle each message as Lambda would."""
        config = self.config
        event = lambda_event(messages, config.queue_arn, config.region)
        context = LocalContext(config.function_timeout_s)
        started = time.monotonic()
        try:
            response = self.handler(event, context)
        except Exception:
            log.exception("handler raised; the whole batch of %d stays on the queue", len(messages))
            return BatchResult(len(messages), 0, len(messages), "raised")
        finally:
            elapsed_s = time.monotonic() - started
            # Lambda's own line for each invocation: what a run's figures read its duration from
            log.info(REPORT, context.aws_request_id, elapsed_s * 1000, len(messages))
        if elapsed_s > config.function_timeout_s:
            return BatchResult(len(messages), 0, len(messages), "timeout")
        failed = _failed_ids(response, {m["MessageId"] for m in messages})
        if failed is None:
            return BatchResult(len(messages), 0, len(messages), "invalid response")
        done = [m for m in messages if m["MessageId"] not in failed]
        self._delete(done)
        return BatchResult(len(messages), len(done), len(failed), "partial" if failed else "ok")

    def _delete(self, messages: list[MessageTypeDef]) -> None:
        for start in range(0, len(messages), RECEIVE_MAX):
            chunk = messages[start : start + RECEIVE_MAX]
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            response = self.sqs.delete_message_batch(QueueUrl=self.config.queue_url, Entries=entries)
            for failed in response.get("Failed", []):
                # It comes back after the visibility timeout; the manifest makes it a duplicate.
                log.warning("could not delete a processed message: %s", failed.get("Message", failed))


def _pause(seconds: float, should_stop: Callable[[], bool]) -> None:
    # A backoff that a stop cuts short: a worker whose SQS is gone must still exit on SIGTERM.
    ends = time.monotonic() + seconds
    while not should_stop() and (left := ends - time.monotonic()) > 0:
        time.sleep(min(STOP_CHECK_S, left))


def _failed_ids(response: Any, batch_ids: set[str]) -> set[str] | None:
    """The reported failures, or None when Lambda would fail the whole batch for this response."""
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures", [])
    if not isinstance(failures, list):
        return None
    ids = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if None in ids or "" in ids or not ids <= batch_ids:
        return None
    return {str(i) for i in ids}
