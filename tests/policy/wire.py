"""What IAM is asked for each captured HTTP request: action, resource ARN and request context.

Read from the wire (URL, headers, body), not from the API parameters, because that is what AWS
sees: S3's `s3:x-amz-server-side-encryption` is the header, present only if the client sent it.
Names in the requests are the emulator's; `rename` maps each to the deployment's name, and a
name it does not know is an error (a client touching something the deployment does not have).
Requests S3, SQS and SNS make to KMS on the caller's behalf (writing to or reading from encrypted
buckets, queues and topics) are added, since the key policy must let them through too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree

from tests.policy.arns import ACCOUNT, REGION, bucket_arn, key_arn, queue_arn, topic_arn
from tests.policy.capture import Wire
from tests.policy.deployment import Deployment
from tests.policy.evaluate import Principal, Request

Rename = Callable[[str], str]
ON_AWS = {"aws:SecureTransport": "true"}  # AWS endpoints are https; the emulator's http is not
S3_HEADERS = (
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-acl",
)
S3_READS = {"GetObject", "HeadObject"}
SQS_ACTIONS = {
    "SendMessage": "SendMessage",
    "SendMessageBatch": "SendMessage",
    "ReceiveMessage": "ReceiveMessage",
    "DeleteMessage": "DeleteMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibility": "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "GetQueueAttributes": "GetQueueAttributes",
}
# What the service asks KMS for on the caller's behalf, per action on an encrypted resource.
KMS_FOR = {
    "s3:PutObject": ("kms:GenerateDataKey",),
    "s3:GetObject": ("kms:Decrypt",),
    "s3:GetObjectVersion": ("kms:Decrypt",),
    "sqs:SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sqs:ReceiveMessage": ("kms:Decrypt",),
    "sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt"),
}


def requests(wire: Wire, who: Principal, rename: Rename, deployment: Deployment) -> list[Request]:
    """The authorisation requests AWS makes of one HTTP request, KMS ones included."""
    service = wire.operation.split(".")[0]
    mappers = {"s3": _s3, "sqs": _sqs, "sns": _sns}
    if service not in mappers:
        raise ValueError(f"{wire.client}: no IAM mapping for {wire.operation}; add one")
    found = [
        Request(who, action, resource, {**ON_AWS, **context})
        for action, resource, context in mappers[service](wire, rename)
    ]
    if wire.method == "HEAD":
        return found  # metadata only: nothing is decrypted
    return found + [kms for request in found for kms in _kms(request, service, deployment)]


Mapped = Iterator[tuple[str, str, Mapping[str, str]]]


def _s3(wire: Wire, rename: Rename) -> Mapped:
    # Path-style (botocore addresses an emulator at an IP that way); any other form names no
    # bucket the rename knows, which fails loudly.
    parts = urlsplit(wire.url)
    bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
    bucket, query = rename(bucket), parse_qs(parts.query, keep_blank_values=True)
    operation = wire.operation.split(".")[1]
    context = {f"s3:{h}": wire.headers[h] for h in S3_HEADERS if h in wire.headers}
    if "s3:x-amz-server-side-encryption-aws-kms-key-id" in context:
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = rename(
            context["s3:x-amz-server-side-encryption-aws-kms-key-id"]
        )
    versioned = "versionId" in query
    if operation == "PutObject":
        yield "s3:PutObject", f"{bucket_arn(bucket)}/{key}", context
    elif operation in S3_READS:
        yield ("s3:GetObjectVersion" if versioned else "s3:GetObject"), f"{bucket_arn(bucket)}/{key}", context
    elif operation == "DeleteObjects":
        # Each object is authorised on its own; one that names a version is DeleteObjectVersion.
        for entry in ElementTree.fromstring(wire.body):
            if entry.tag.endswith("Object"):
                named = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in entry}
                action = "s3:DeleteObjectVersion" if "VersionId" in named else "s3:DeleteObject"
                yield action, f"{bucket_arn(bucket)}/{named['Key']}", context
    elif operation == "DeleteObject":
        yield (
            ("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject"),
            f"{bucket_arn(bucket)}/{key}",
            context,
        )
    elif operation in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
        action = "s3:ListBucketVersions" if operation == "ListObjectVersions" else "s3:ListBucket"
        yield action, bucket_arn(bucket), {**context, "s3:prefix": query.get("prefix", [""])[0]}
    else:
        raise ValueError(f"{wire.client}: no IAM mapping for {wire.operation}; add one")


def _form_or_json(wire: Wire) -> dict[str, Any]:
    if "json" in wire.headers.get("content-type", ""):
        return dict(json.loads(wire.body or b"{}"))
    return {k: v[0] for k, v in parse_qs(wire.body.decode()).items()}


def _sqs(wire: Wire, rename: Rename) -> Mapped:
    operation = wire.operation.split(".")[1]
    if operation not in SQS_ACTIONS:
        raise ValueError(f"{wire.client}: no IAM mapping for {wire.operation}; add one")
    name = rename(str(_form_or_json(wire)["QueueUrl"]).rstrip("/").rsplit("/", 1)[1])
    yield f"sqs:{SQS_ACTIONS[operation]}", queue_arn(name), {}


def _sns(wire: Wire, rename: Rename) -> Mapped:
    if wire.operation != "sns.Publish":
        raise ValueError(f"{wire.client}: no IAM mapping for {wire.operation}; add one")
    yield "sns:Publish", topic_arn(rename(str(_form_or_json(wire)["TopicArn"]).rsplit(":", 1)[1])), {}


def _kms(request: Request, service: str, deployment: Deployment) -> Iterator[Request]:
    key = deployment.key_for(request.resource)
    asked = request.context.get("s3:x-amz-server-side-encryption")
    if asked is not None and asked != "aws:kms":
        return  # an explicit SSE-S3 (or SSE-C) write uses no KMS key
    key = request.context.get("s3:x-amz-server-side-encryption-aws-kms-key-id") or key
    if key is None:
        return
    context = {**ON_AWS, "kms:ViaService": f"{service}.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
    for action in KMS_FOR.get(request.action, ()):
        yield Request(request.principal, action, _key_arn(key), context)


def _key_arn(key: str) -> str:
    if key.startswith("arn:"):
        return key
    if re.fullmatch(r"[0-9a-f-]{36}", key):
        return key_arn(key)
    raise ValueError(f"KMS key {key!r}: give the key's id or ARN (an alias is not resolved here)")
