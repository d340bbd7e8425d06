"""What AWS decides for one request, given the resource's policy and the caller's own.

Single-account evaluation as the IAM User Guide describes it ("Policy evaluation for requests
within a single account"): an explicit Deny in any policy wins; otherwise an Allow in either the
resource policy or the caller's identity policy suffices; with neither, the request is refused.
Two refinements matter here:
- a principal naming an account (`arn:aws:iam::ACCOUNT:root` or `ACCOUNT`) in an Allow grants
  nothing by itself; it lets the account's own IAM policies decide (delegation). A KMS key is
  stricter: its IAM policies count only when its key policy delegates so;
- a service principal (`sns.amazonaws.com`) has no identity policy: only the resource policy can
  let it in.
Only the policy elements imgpipe's Terraform writes are modelled; anything else is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.policy.conditions import block_holds, glob

KNOWN = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "Condition"}


@dataclass(frozen=True)
class Principal:
    """Who asks: an IAM role or user (`AWS`, by ARN) or an AWS service (`Service`, by host name)."""

    kind: str
    name: str

    @property
    def account(self) -> str | None:
        """The account of an IAM principal (None for a service)."""
        return self.name.split(":")[4] if self.kind == "AWS" else None


@dataclass(frozen=True)
class Request:
    """One authorisation question: may `principal` do `action` on `resource` in this context?"""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """An IAM JSON policy document and the name it is reported by."""

    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Verdict:
    """The decision, and the policy statement that made it (None for an implicit deny)."""

    allowed: bool
    reason: str
    policy: str | None = None
    sid: str | None = None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def principal_match(statement: Mapping[str, Any], who: Principal) -> str | None:
    """How the statement's Principal covers `who`: "holder" (identity policy), "direct",
    "account" (delegation to the account's IAM policies) or None."""
    if "Principal" not in statement:
        return "holder"
    named = statement["Principal"]
    if named == "*":
        return "direct"
    if set(named) - {"AWS", "Service"}:
        raise ValueError(f"principal types {sorted(named)} are not modelled")
    if who.kind == "Service":
        return "direct" if who.name in _listed(named.get("Service", [])) else None
    for entry in _listed(named.get("AWS", [])):
        if entry in ("*", who.name):
            return "direct"
        if entry in (who.account, f"arn:aws:iam::{who.account}:root"):
            return "account"
    return None


def applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Action, resource and condition all cover the request (the principal is checked apart)."""
    if set(statement) - KNOWN:
        raise ValueError(f"policy elements {sorted(set(statement) - KNOWN)} are not modelled")
    if "Action" in statement:
        acts = any(glob(a, request.action, ignore_case=True) for a in _listed(statement["Action"]))
    else:
        acts = not any(glob(a, request.action, ignore_case=True) for a in _listed(statement["NotAction"]))
    if "Resource" in statement:
        covers = any(glob(r, request.resource) for r in _listed(statement["Resource"]))
    else:
        covers = not any(glob(r, request.resource) for r in _listed(statement["NotResource"]))
    return acts and covers and block_holds(statement.get("Condition", {}), request.context)


def matches(policy: Policy, request: Request) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every statement of `policy` that applies to `request`, with how its principal matched."""
    for statement in _listed(policy.document["Statement"]):
        how = principal_match(statement, request.principal)
        if how is not None and applies(statement, request):
            yield statement, how


def decide(
    request: Request,
    resource_policy: Policy | None,
    identity: Sequence[Policy] = (),
    identity_assumed: bool = False,
) -> Verdict:
    """AWS's decision. `identity_assumed`: the caller's IAM policies are not in the Terraform (an
    operator's own user or role) and are taken to allow what it asks; Denies still count."""
    found = [(p, s, how) for p in (resource_policy, *identity) if p for s, how in matches(p, request)]
    for policy, statement, _ in found:
        if statement.get("Effect") == "Deny":
            return Verdict(False, "explicit Deny", policy.name, statement.get("Sid"))
    allows = [(p, s, how) for p, s, how in found if s.get("Effect") == "Allow"]
    for policy, statement, how in allows:
        if policy is resource_policy and how == "direct":
            return Verdict(True, "resource policy allows", policy.name, statement.get("Sid"))
    if request.principal.kind == "Service":
        return Verdict(False, "no resource policy statement allows this service")
    kms = request.action.lower().startswith("kms:")
    if kms and not any(p is resource_policy and how == "account" for p, _, how in allows):
        return Verdict(False, "the key policy does not let IAM policies grant this")
    for policy, statement, how in allows:
        if how == "holder":
            return Verdict(True, "identity policy allows", policy.name, statement.get("Sid"))
    if identity_assumed:
        return Verdict(True, "the caller's own IAM policy is assumed to allow it")
    return Verdict(False, "no statement allows it (implicit deny)")
