"""The deployment's own service-to-service requests, held against its policies.

S3 notifying the topic, SNS delivering to the work queue, Lambda's event source mapping reading
that queue with the worker's role, and CloudWatch Logs encrypting the worker's logs: each request
is derived from the Terraform resource that wires it (bucket notification, topic subscription,
event source mapping, log group), never restated by hand, and must be allowed by the resource or
key policy that is its only grant. Also: reading the Terraform refuses what it cannot read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.policy import Principal, Request, decide, deployment
from tests.policy.arns import ACCOUNT, REGION
from tests.policy.deployment import Deployment
from tests.policy.documents import statement
from tests.policy.hcl import Scope, Unresolved

pytestmark = pytest.mark.unit

# What Lambda's event source mapping does with the function's role (Lambda developer guide, "SQS
# execution role permissions"), and what it asks KMS to read an encrypted queue.
ESM_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# The KMS actions a service asks for when it writes to an encrypted topic or queue.
ENCRYPT = ("kms:GenerateDataKey", "kms:Decrypt")


@pytest.fixture(scope="module")
def dep() -> Deployment:
    return deployment()


def service(name: str) -> Principal:
    return Principal("Service", name)


def _blocks(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def notifications(dep: Deployment) -> Iterator[Request]:
    """S3 publishing each bucket notification to its topic, as S3 signs it."""
    for body in dep.tf["resource"]["aws_s3_bucket_notification"].values():
        bucket = f"arn:aws:s3:::{dep.scope.resolve(body['bucket'])}"
        for topic in _blocks(body["topic"]):
            yield Request(
                service("s3.amazonaws.com"),
                "sns:Publish",
                dep.scope.resolve(topic["topic_arn"]),
                {"aws:SourceArn": bucket, "aws:SourceAccount": ACCOUNT},
            )


def deliveries(dep: Deployment) -> Iterator[Request]:
    """SNS delivering to each SQS subscription."""
    for body in dep.tf["resource"]["aws_sns_topic_subscription"].values():
        assert body["protocol"] == "sqs"
        source = {"aws:SourceArn": dep.scope.resolve(body["topic_arn"]), "aws:SourceAccount": ACCOUNT}
        yield Request(
            service("sns.amazonaws.com"), "sqs:SendMessage", dep.scope.resolve(body["endpoint"]), source
        )


def with_keys(dep: Deployment, requests: Iterator[Request]) -> list[Request]:
    """Each request, and the KMS requests the service makes for it when the target is encrypted."""
    found = []
    for request in requests:
        found.append(request)
        key = dep.key_for(request.resource)
        if key:
            found += [Request(request.principal, a, key, request.context) for a in ENCRYPT]
    return found


def refused(dep: Deployment, requests: list[Request], **identity: Any) -> list[str]:
    verdicts = [(r, decide(r, dep.resource_policy(r.resource), **identity)) for r in requests]
    return [f"{r.principal.name} {r.action} {r.resource}: {v.reason}" for r, v in verdicts if not v.allowed]


def test_s3_may_notify_the_topic_and_sns_may_deliver_to_the_queue(dep: Deployment) -> None:
    # Given the requests the bucket notification and the subscription make, KMS ones included
    requests = with_keys(dep, notifications(dep)) + with_keys(dep, deliveries(dep))
    assert {r.action for r in requests} == {"sns:Publish", "sqs:SendMessage", *ENCRYPT}
    # Then the topic, queue and key policies let every one of them through
    assert refused(dep, requests) == []


def test_a_notification_from_another_bucket_or_topic_is_refused(dep: Deployment) -> None:
    # Given the same requests signed as coming from elsewhere
    elsewhere = {"aws:SourceArn": "arn:aws:s3:::someone-elses-bucket", "aws:SourceAccount": ACCOUNT}
    strays = [
        Request(r.principal, r.action, r.resource, elsewhere) for r in [*notifications(dep), *deliveries(dep)]
    ]
    # Then nothing lets them in: the conditions are what stand between the topic and the world
    assert len(refused(dep, strays)) == len(strays) == 2


@pytest.mark.parametrize("name", ["work", "interactive", "bulk"])
def test_the_event_source_mapping_may_read_the_queue_with_the_worker_role(dep: Deployment, name: str) -> None:
    # Given a mapping's queue (the work queue's feeds the router, each lane's the worker) and the
    # role of the function it invokes
    mapping = dep.tf["resource"]["aws_lambda_event_source_mapping"][name]
    queue = dep.scope.resolve(mapping["event_source_arn"])
    functions = dep.tf["resource"]["aws_lambda_function"]
    (name,) = [
        n
        for n in functions
        if dep.value(f"aws_lambda_function.{n}.arn") == dep.scope.resolve(mapping["function_name"])
    ]
    role = dep.scope.resolve(functions[name]["role"])
    worker = Principal("AWS", role)
    requests = [Request(worker, a, queue, {"aws:SecureTransport": "true"}) for a in ESM_ACTIONS]
    requests.append(Request(worker, "kms:Decrypt", dep.key_for(queue) or "none", {}))
    # Then the role's own policy (its only grant) and the key policy allow each
    assert refused(dep, requests, identity=dep.identity_policies[role]) == []
    assert refused(dep, requests, identity=[]) != []  # without the role's policy nothing would


def test_cloudwatch_logs_may_encrypt_the_functions_logs_and_no_other_group(dep: Deployment) -> None:
    # Given every log group the deployment encrypts with a key
    groups = [g for g in dep.tf["resource"]["aws_cloudwatch_log_group"].values() if "kms_key_id" in g]
    logs = service(f"logs.{REGION}.amazonaws.com")

    def encrypt(key: str, log_group: str) -> Request:
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}"
        return Request(logs, "kms:GenerateDataKey", key, {"kms:EncryptionContext:aws:logs:arn": arn})

    requests = [encrypt(dep.scope.resolve(g["kms_key_id"]), dep.scope.resolve(g["name"])) for g in groups]
    # Then the key policy lets Logs use the key for each of them, and for no other group
    assert groups and refused(dep, requests) == []
    assert refused(dep, [encrypt(r.resource, "/aws/lambda/someone-else") for r in requests]) != []


def test_every_policy_the_terraform_attaches_is_read(dep: Deployment) -> None:
    names = sorted(p.name for p in dep.resource_policies.values())
    assert names == [
        "aws_kms_key.main",
        "aws_kms_key.web",
        "aws_s3_bucket_policy.logs",
        "aws_s3_bucket_policy.web",
        "aws_sns_topic_policy.uploads",
        "aws_sqs_queue_policy.work",
        "module.input_bucket.aws_s3_bucket_policy.this",
        "module.output_bucket.aws_s3_bucket_policy.this",
    ]
    attached = sorted(p.name for ps in dep.identity_policies.values() for p in ps)
    assert attached == sorted(f"aws_iam_role_policy.{n}" for n in dep.tf["resource"]["aws_iam_role_policy"])
    assert "aws_iam_role_policy.worker" in attached


def test_what_the_reading_does_not_understand_fails_loudly() -> None:
    scope = Scope({"var.known": "x"}, {})
    with pytest.raises(Unresolved, match="var.unknown"):
        scope.resolve("${var.unknown}-suffix")
    with pytest.raises(Unresolved, match="jsonencode"):
        scope.resolve('${jsonencode({Statement = [{Effect = "Deny"}]})}')
    with pytest.raises(ValueError, match="not_principals"):
        statement(
            {"effect": "Deny", "actions": ["s3:*"], "not_principals": [{"type": "AWS", "identifiers": ["*"]}]}
        )
