"""One test deployment of deploy/terraform: every policy it attaches, with concrete ARNs.

The values Terraform would learn from AWS (account, region, partition, the key's id) and the one
variable without a default come from the explicit tables below and in `tests.policy.arns`, and
the expressions this reading does not evaluate from `EXPRESSIONS`; every other name is Terraform's
own (variable defaults, locals, resource names), and ARNs are derived from those names the way
AWS forms them. Modules are instantiated with their arguments, so the data bucket module's
policy is read once per bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

from tests.policy.arns import (
    ACCOUNT,
    ATTRIBUTES,
    PARTITION,
    REGION,
    bucket_arn,
    key_arn,
    queue_arn,
    role_arn,
)
from tests.policy.documents import render
from tests.policy.evaluate import Policy
from tests.policy.hcl import ROOT, Scope, Unresolved, flatten, load

WEB_DOMAIN = "d111111abcdef8.cloudfront.net"

INPUTS = {
    "data.aws_caller_identity.current.account_id": ACCOUNT,
    "data.aws_region.current.name": REGION,
    "data.aws_partition.current.partition": PARTITION,
    "var.package_path": "dist/imgpipe-lambda-arm64.zip",
    # the web uploader's distribution (web.tf): AWS names it
    "aws_cloudfront_distribution.web.domain_name": WEB_DOMAIN,
    "aws_cloudfront_distribution.web.arn": f"arn:{PARTITION}:cloudfront::{ACCOUNT}:distribution/EDFD6EXAMPLE",
}
KEY_IDS = {  # aws_kms_key name -> the id AWS gives it
    "main": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "web": "5678abcd-12ab-34cd-56ef-1234567890ab",
}
# Whole expressions the resolver does not evaluate, answered for this deployment's variables.
EXPRESSIONS: dict[str, Any] = {
    'var.result_topic_arn == "" ? [] : [var.result_topic_arn]': [],
    # the API's IMGPIPE_CORS_ORIGINS, for the default api_cors_origins (none): the uploader's alone
    "jsonencode(local.api_cors_origins)": f'["https://{WEB_DOMAIN}"]',
}


@dataclass
class Deployment:
    """The root module's values, and what the deployment attaches where."""

    tf: dict[str, Any]
    scope: Scope
    resource_policies: dict[str, Policy]  # bucket, queue, topic or key ARN -> its policy
    identity_policies: dict[str, list[Policy]]  # role ARN -> its inline policies
    encryption: dict[str, str]  # bucket, queue or topic ARN -> the KMS key that encrypts it

    def value(self, expression: str) -> Any:
        """What a root-module expression (`module.input_bucket.arn`) is in this deployment."""
        return self.scope.lookup(expression)

    def resource_policy(self, arn: str) -> Policy | None:
        """The policy on the resource `arn` names (an object's bucket, for S3)."""
        return self.resource_policies.get(_container(arn))

    def key_for(self, arn: str) -> str | None:
        """The KMS key that encrypts what `arn` names at rest, if any."""
        return self.encryption.get(_container(arn))


def _container(arn: str) -> str:
    return arn.split("/", 1)[0] if arn.startswith(f"arn:{PARTITION}:s3:::") else arn


@cache
def deployment() -> Deployment:
    """The root module of deploy/terraform, read and resolved (once per test session)."""
    found = Deployment({}, Scope({}, EXPRESSIONS), {}, {}, {})
    found.tf, found.scope = _instantiate(ROOT, dict(INPUTS), found, "")
    return found


def _instantiate(
    folder: Path, inputs: dict[str, Any], into: Deployment, label: str
) -> tuple[dict[str, Any], Scope]:
    tf = load(folder)
    values = {f"var.{n}": v["default"] for n, v in tf["variable"].items() if "default" in v} | inputs
    scope = Scope(values, EXPRESSIONS)
    pending: dict[str, Callable[[], Any]] = {
        f"local.{n}": partial(scope.resolve, b) for n, b in tf["locals"].items()
    }
    for type_, named in tf["resource"].items():
        pending |= {f"{type_}.{n}": partial(_attributes, type_, n, b, scope) for n, b in named.items()}
    _settle(pending, scope)
    for name, block in tf["module"].items():
        args = {f"var.{k}": scope.resolve(v) for k, v in block.items() if k != "source"}
        child_tf, child = _instantiate(folder / block["source"], INPUTS | args, into, f"module.{name}.")
        outputs = {out: child.resolve(spec["value"]) for out, spec in child_tf["output"].items()}
        scope.values |= flatten(f"module.{name}", outputs)
    for name, body in tf["data"].get("aws_iam_policy_document", {}).items():
        scope.values[f"data.aws_iam_policy_document.{name}.json"] = render(body, scope)
    _attach(tf, scope, into, label)
    return tf, scope


def _settle(pending: dict[str, Callable[[], Any]], scope: Scope) -> None:
    """Resolve locals and resource attributes in whatever order their references allow (a local
    may name a resource, a resource a local); what never resolves stays out of the scope, and a
    reference to it raises `Unresolved` where it is used."""
    while pending:
        done = {}
        for prefix, compute in pending.items():
            try:
                done[prefix] = compute()
            except Unresolved:
                continue
        if not done:
            return
        for prefix, value in done.items():
            scope.values |= flatten(prefix, value)
            del pending[prefix]


def _attributes(type_: str, name: str, body: dict[str, Any], scope: Scope) -> dict[str, str]:
    if type_ == "aws_kms_key":
        key_id = KEY_IDS[name]
        return {"id": key_id, "key_id": key_id, "arn": key_arn(key_id)}
    if type_ not in ATTRIBUTES:
        return {}  # a reference to one of its attributes raises Unresolved, naming it
    argument, derive = ATTRIBUTES[type_]
    return derive(str(scope.resolve(body[argument])))


# resource type -> (its argument naming what the policy is on, that thing's ARN from the value)
RESOURCE_POLICIES: dict[str, tuple[str, Callable[[str], str]]] = {
    "aws_s3_bucket_policy": ("bucket", bucket_arn),
    "aws_sqs_queue_policy": ("queue_url", lambda url: queue_arn(url.rsplit("/", 1)[1])),
    "aws_sns_topic_policy": ("arn", str),
}
# Other ways to attach a policy: none is used; one that appears must be read here first.
NOT_MODELLED = ("aws_iam_policy", "aws_iam_role_policy_attachment", "aws_iam_user_policy", "aws_kms_grant")


def _attach(tf: dict[str, Any], scope: Scope, into: Deployment, label: str) -> None:
    resources = tf["resource"]
    if used := [t for t in NOT_MODELLED if t in resources]:
        raise ValueError(f"{label}{used}: policies attached this way are not read yet")
    for type_, (argument, arn_of) in RESOURCE_POLICIES.items():
        for name, body in resources.get(type_, {}).items():
            target = arn_of(str(scope.resolve(body[argument])))
            into.resource_policies[target] = _policy(body, scope, f"{label}{type_}.{name}")
    for name, body in resources.get("aws_kms_key", {}).items():
        into.resource_policies[scope.lookup(f"aws_kms_key.{name}.arn")] = _policy(
            body, scope, f"{label}aws_kms_key.{name}"
        )
    for name, body in resources.get("aws_iam_role_policy", {}).items():
        role = role_arn(str(scope.resolve(body["role"])))
        into.identity_policies.setdefault(role, []).append(
            _policy(body, scope, f"{label}aws_iam_role_policy.{name}")
        )
    _encryption(resources, scope, into)


def _encryption(resources: dict[str, Any], scope: Scope, into: Deployment) -> None:
    for body in resources.get("aws_s3_bucket_server_side_encryption_configuration", {}).values():
        default = _one(_one(body["rule"])["apply_server_side_encryption_by_default"])
        if default["sse_algorithm"] == "aws:kms":
            key = scope.resolve(default.get("kms_master_key_id", "alias/aws/s3"))
            into.encryption[bucket_arn(str(scope.resolve(body["bucket"])))] = key
    for type_ in ("aws_sqs_queue", "aws_sns_topic"):
        for name, body in resources.get(type_, {}).items():
            if "kms_master_key_id" in body:
                into.encryption[scope.lookup(f"{type_}.{name}.arn")] = scope.resolve(
                    body["kms_master_key_id"]
                )


def _one(value: Any) -> Any:
    """A nested block python-hcl2 may give as a one-element list."""
    return value[0] if isinstance(value, list) else value


def _policy(body: dict[str, Any], scope: Scope, name: str) -> Policy:
    document = scope.resolve(body["policy"])
    if not isinstance(document, dict):
        raise ValueError(f"{name}: the policy is not an aws_iam_policy_document: {body['policy']!r}")
    return Policy(name, document)
