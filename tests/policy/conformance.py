"""Captured requests held against the deployment's policies: which would AWS refuse, and why.

A refusal names the client, the HTTP request, the IAM action and resource, and the policy and
statement Sid that refused it (or "implicit deny" when nothing allows a caller whose only grant
is in the Terraform).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.policy.arns import role_arn
from tests.policy.capture import Wire
from tests.policy.deployment import Deployment
from tests.policy.evaluate import Policy, Principal, Request, Verdict, decide
from tests.policy.wire import Rename, requests

OPERATOR_ROLE = "imgpipe-operator"  # whoever runs `imgpipe`: its IAM policy is not in the Terraform


@dataclass(frozen=True)
class Caller:
    """Who sends a client's requests, and the identity policies that count for it."""

    principal: Principal
    identity: tuple[Policy, ...] = ()
    identity_assumed: bool = False


def operator() -> Caller:
    """An operator's role: its own IAM policy is taken to allow what it asks; Denies still count."""
    return Caller(Principal("AWS", role_arn(OPERATOR_ROLE)), identity_assumed=True)


def role(deployment: Deployment, reference: str) -> Caller:
    """A role the Terraform creates (`aws_iam_role.worker.arn`), with exactly its policies."""
    arn = str(deployment.value(reference))
    return Caller(Principal("AWS", arn), tuple(deployment.identity_policies.get(arn, ())))


@dataclass(frozen=True)
class Refusal:
    """One request AWS would refuse."""

    wire: Wire
    request: Request
    verdict: Verdict

    def __str__(self) -> str:
        by = f" by {self.verdict.policy} statement {self.verdict.sid!r}" if self.verdict.policy else ""
        return (
            f"{self.wire.client}: {self.wire.method} {self.wire.operation} -> {self.request.action} on "
            f"{self.request.resource}: {self.verdict.reason}{by}; context {dict(self.request.context)}"
        )


def refusals(wires: Iterable[Wire], caller: Caller, rename: Rename, deployment: Deployment) -> list[Refusal]:
    """Every authorisation AWS would refuse among the requests `wires` make."""
    refused = []
    for wire in wires:
        for request in requests(wire, caller.principal, rename, deployment):
            policy = deployment.resource_policy(request.resource)
            verdict = decide(request, policy, caller.identity, caller.identity_assumed)
            if not verdict.allowed:
                refused.append(Refusal(wire, request, verdict))
    return refused


def signed_headers(url: str) -> list[str]:
    """The headers a pre-signed URL's signature covers, besides `host`."""
    names = parse_qs(urlsplit(url).query).get("X-Amz-SignedHeaders", [""])[0]
    return [name for name in names.split(";") if name and name != "host"]


def presigned_request(client: str, grant: Mapping[str, Any], signed: Wire) -> tuple[Wire, list[str]]:
    """The request a browser makes with a grant (its URL, method and headers), and what in the
    grant would make S3 refuse the signature: a signed header it does not tell the browser to
    send, or tells it to send with another value than the one signed."""
    told = {k.lower(): str(v) for k, v in grant.get("headers", {}).items()}
    gaps = [
        f"{name}: signed as {signed.headers.get(name)!r}, the grant says {told.get(name)!r}"
        for name in signed_headers(grant["url"])
        if told.get(name) != signed.headers.get(name)
    ]
    wire = Wire(client, signed.operation, grant["method"], grant["url"], told)
    return wire, gaps
