"""SQS's own DLQ redrive (message move tasks): everything at once, run by SQS, on AWS only.

It cannot filter by error type or user and does not count redrives (use `deploy.ops.dlq.redrive` for
that), but it needs no process of ours to stay up. Moto does not implement it, so against a local
endpoint, or an endpoint that does not know the operation, it says so instead of failing oddly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from deploy.ops.dlq.message import iso_from_ms

if TYPE_CHECKING:
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import (
        ListMessageMoveTasksResultEntryTypeDef,
        StartMessageMoveTaskRequestTypeDef,
    )

Answer = TypeVar("Answer")

AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
UNKNOWN_OPERATION = {"InvalidAction", "UnknownOperation", "UnknownOperationException", "NotImplemented"}


class NotAvailable(Exception):
    """Message move tasks do not exist where the client points."""


def require_aws(sqs: SQSClient, operation: str) -> None:
    """Raise NotAvailable unless the client points at SQS on AWS (AWS_ENDPOINT_URL unset)."""
    endpoint = str(sqs.meta.endpoint_url)
    if not (urlparse(endpoint).hostname or "").endswith(AWS_HOSTS):
        raise NotAvailable(
            f"not available here: {operation} is SQS's own redrive, on AWS only;"
            f" the endpoint is {endpoint} (use `dlq redrive` without --native)"
        )


def _call(sqs: SQSClient, operation: str, send: Callable[[], Answer]) -> Answer:
    """One message-move-task call; NotAvailable when the endpoint does not know the operation."""
    require_aws(sqs, operation)
    try:
        return send()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in UNKNOWN_OPERATION or status == 501:
            reason = f"not available here: the endpoint does not know {operation} ({code})"
            raise NotAvailable(reason) from exc
        raise


def queue_arn(sqs: SQSClient, url_or_arn: str) -> str:
    """The ARN of a queue given by URL (an ARN is returned as it is)."""
    if url_or_arn.startswith("arn:"):
        return url_or_arn
    attributes = sqs.get_queue_attributes(QueueUrl=url_or_arn, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])


def start(
    sqs: SQSClient, dlq_url: str, destination: str | None = None, rate: int | None = None
) -> dict[str, Any]:
    """Start moving every DLQ message (to `destination`, else back to the queues they came from)."""
    require_aws(sqs, "StartMessageMoveTask")
    arguments: StartMessageMoveTaskRequestTypeDef = {"SourceArn": queue_arn(sqs, dlq_url)}
    if destination:
        arguments["DestinationArn"] = queue_arn(sqs, destination)
    if rate is not None:
        arguments["MaxNumberOfMessagesPerSecond"] = rate
    response = _call(sqs, "StartMessageMoveTask", lambda: sqs.start_message_move_task(**arguments))
    return {
        "taskHandle": response.get("TaskHandle"),
        "sourceArn": arguments["SourceArn"],
        "destinationArn": arguments.get("DestinationArn"),
        "maxNumberOfMessagesPerSecond": rate,
    }


def tasks(sqs: SQSClient, dlq_url: str) -> list[dict[str, Any]]:
    """The most recent move tasks of the DLQ (running or not), newest first."""
    require_aws(sqs, "ListMessageMoveTasks")
    source = queue_arn(sqs, dlq_url)
    response = _call(
        sqs, "ListMessageMoveTasks", lambda: sqs.list_message_move_tasks(SourceArn=source, MaxResults=10)
    )
    return [_task(result) for result in response.get("Results", [])]


def cancel(sqs: SQSClient, task_handle: str) -> dict[str, Any]:
    """Stop a running move task; what it had moved so far."""
    response = _call(
        sqs, "CancelMessageMoveTask", lambda: sqs.cancel_message_move_task(TaskHandle=task_handle)
    )
    moved = response.get("ApproximateNumberOfMessagesMoved")
    return {"taskHandle": task_handle, "approximateNumberOfMessagesMoved": moved}


def _task(result: ListMessageMoveTasksResultEntryTypeDef) -> dict[str, Any]:
    started = result.get("StartedTimestamp")
    return {
        "taskHandle": result.get("TaskHandle"),
        "status": result.get("Status"),
        "sourceArn": result.get("SourceArn"),
        "destinationArn": result.get("DestinationArn"),
        "maxNumberOfMessagesPerSecond": result.get("MaxNumberOfMessagesPerSecond"),
        "approximateNumberOfMessagesMoved": result.get("ApproximateNumberOfMessagesMoved"),
        "approximateNumberOfMessagesToMove": result.get("ApproximateNumberOfMessagesToMove"),
        "failureReason": result.get("FailureReason"),
        "startedAt": iso_from_ms(str(started)) if started is not None else None,
    }
