"""The AWS topology imgpipe runs on, created through the API: the same shape Terraform deploys.

Used by the embedded local stack (against the moto server) and by the integration tests, so
both exercise the real wiring: S3 notification -> SNS -> SQS (raw delivery) with a DLQ.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from shared.keys import UPLOAD_PREFIX

MAX_RECEIVE_COUNT = 5
DLQ_RETENTION_S = 14 * 24 * 3600
QUEUE_RETENTION_S = 4 * 24 * 3600


LAMBDA_BATCH_WITHOUT_WINDOW = 10


def check_batching(batch_size: int, batching_window_s: float) -> None:
    """Refuse what Lambda's CreateEventSourceMapping refuses: over 10 records with no window."""
    if batch_size > LAMBDA_BATCH_WITHOUT_WINDOW and batching_window_s < 1:
        raise ValueError(
            f"batch size {batch_size} needs a batching window of at least 1 s (it is"
            f" {batching_window_s:g} s): Lambda takes more than {LAMBDA_BATCH_WITHOUT_WINDOW} records"
            " per batch only with a window"
        )


@dataclass(frozen=True)
class QueueSettings:
    """How the work queue hands records to the worker; defaults equal Terraform's variables."""

    function_timeout_s: int = 60
    batching_window_s: int = 1
    visibility_timeout_s: int = 361
    max_receive_count: int = MAX_RECEIVE_COUNT
    batch_size: int = 10

    def __post_init__(self) -> None:
        check_batching(self.batch_size, self.batching_window_s)
        minimum = 6 * self.function_timeout_s + self.batching_window_s
        if self.visibility_timeout_s < minimum:
            raise ValueError(
                f"visibility timeout {self.visibility_timeout_s}s is below 6 x function timeout"
                f" + batching window = {minimum}s: records still in flight would be delivered again"
            )

    @classmethod
    def for_timeout(cls, function_timeout_s: int, batching_window_s: int = 0) -> QueueSettings:
        """Settings for another function timeout, with the smallest safe visibility timeout."""
        return cls(function_timeout_s, batching_window_s, 6 * function_timeout_s + batching_window_s)


@dataclass(frozen=True)
class Topology:
    """Names, ARNs and URLs of everything provisioned."""

    input_bucket: str
    output_bucket: str
    logs_bucket: str
    topic_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str


def provision(session: Any, prefix: str = "imgpipe", queue: QueueSettings | None = None) -> Topology:
    """Create (idempotently) buckets, topic, queue + DLQ, subscription and bucket notification."""
    queue = queue or QueueSettings()
    s3, sns, sqs = session.client("s3"), session.client("sns"), session.client("sqs")
    names = {kind: f"{prefix}-{kind}" for kind in ("input", "output", "logs")}
    for bucket in names.values():
        _create_bucket(s3, bucket, session.region_name)
    dlq_url = sqs.create_queue(
        QueueName=f"{prefix}-dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_S)}
    )["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-work",
        Attributes={
            "VisibilityTimeout": str(queue.visibility_timeout_s),
            "MessageRetentionPeriod": str(QUEUE_RETENTION_S),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
            ),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    topic_arn = sns.create_topic(Name=f"{prefix}-uploads")["TopicArn"]
    sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    s3.put_bucket_notification_configuration(
        Bucket=names["input"],
        NotificationConfiguration={
            "TopicConfigurations": [
                {
                    "TopicArn": topic_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}},
                }
            ]
        },
    )
    return Topology(
        names["input"], names["output"], names["logs"], topic_arn, queue_url, queue_arn, dlq_url, dlq_arn
    )


def _create_bucket(s3: Any, name: str, region: str | None) -> None:
    options: dict[str, Any] = {}
    if region and region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=name, **options)


def _queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attributes["QueueArn"])
