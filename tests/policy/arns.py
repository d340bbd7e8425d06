"""The test deployment's account, region and partition, and ARNs formed from names as AWS forms them."""

from __future__ import annotations

from collections.abc import Callable

ACCOUNT, REGION, PARTITION = "111122223333", "eu-west-1", "aws"


def bucket_arn(name: str) -> str:
    return f"arn:{PARTITION}:s3:::{name}"


def queue_arn(name: str) -> str:
    return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def topic_arn(name: str) -> str:
    return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"


def key_arn(key_id: str) -> str:
    return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{key_id}"


def role_arn(name: str) -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"


# resource type -> (the argument that names it, its attributes from that name)
ATTRIBUTES: dict[str, tuple[str, Callable[[str], dict[str, str]]]] = {
    "aws_s3_bucket": ("bucket", lambda n: {"id": n, "bucket": n, "arn": bucket_arn(n)}),
    "aws_sqs_queue": (
        "name",
        lambda n: {"id": queue_url(n), "url": queue_url(n), "arn": queue_arn(n), "name": n},
    ),
    "aws_sns_topic": ("name", lambda n: {"id": topic_arn(n), "arn": topic_arn(n), "name": n}),
    "aws_iam_role": ("name", lambda n: {"id": n, "name": n, "arn": role_arn(n)}),
    "aws_cloudwatch_log_group": (
        "name",
        lambda n: {"id": n, "name": n, "arn": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{n}"},
    ),
    "aws_lambda_function": (
        "function_name",
        lambda n: {"function_name": n, "arn": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{n}"},
    ),
}
