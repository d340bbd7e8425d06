"""`data "aws_iam_policy_document"` blocks turned into the IAM JSON the AWS provider renders.

The provider's mapping: `effect` (default Allow), `sid`, `actions`/`not_actions`,
`resources`/`not_resources`, `principals {type, identifiers}` (`*`/`*` renders as `"*"`),
`condition {test, variable, values}` grouped by test, and `dynamic "statement"` blocks expanded
over their `for_each`. Any other argument (`not_principals`, `source_policy_documents`, ...) is
refused: this project does not use it, and silently ignoring it could hide a Deny.
"""

from __future__ import annotations

from typing import Any

from tests.policy.hcl import Scope

_LISTS = {
    "actions": "Action",
    "not_actions": "NotAction",
    "resources": "Resource",
    "not_resources": "NotResource",
}
_STATEMENT = {"sid", "effect", "principals", "condition", *_LISTS}


def render(body: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """The policy document a data source renders, its references resolved in `scope`."""
    unknown = set(body) - {"statement", "dynamic", "version"}
    if unknown:
        raise ValueError(f"aws_iam_policy_document arguments {sorted(unknown)} are not modelled")
    statements = [statement(scope.resolve(block)) for block in body.get("statement", [])]
    for dynamic in body.get("dynamic", []):
        for name, spec in dynamic.items():
            if name != "statement":
                raise ValueError(f"dynamic {name!r} blocks are not modelled")
            for index, item in enumerate(scope.resolve(spec["for_each"])):
                inner = scope.child({"statement.value": item, "statement.key": index})
                statements += [statement(inner.resolve(block)) for block in spec["content"]]
    return {"Version": "2012-10-17", "Statement": statements}


def statement(block: dict[str, Any]) -> dict[str, Any]:
    """One resolved `statement` block as an IAM JSON statement."""
    unknown = set(block) - _STATEMENT
    if unknown:
        raise ValueError(f"statement arguments {sorted(unknown)} are not modelled")
    rendered: dict[str, Any] = {"Effect": block.get("effect", "Allow")}
    if "sid" in block:
        rendered["Sid"] = block["sid"]
    rendered |= {iam: block[hcl] for hcl, iam in _LISTS.items() if hcl in block}
    if "principals" in block:
        rendered["Principal"] = principals(block["principals"])
    if "condition" in block:
        rendered["Condition"] = conditions(block["condition"])
    return rendered


def principals(blocks: list[dict[str, Any]]) -> Any:
    """`principals` blocks as an IAM Principal element."""
    if any(b["type"] == "*" for b in blocks):
        if len(blocks) != 1 or blocks[0]["identifiers"] != ["*"]:
            raise ValueError('a `*` principal must stand alone with identifiers ["*"]')
        return "*"
    merged: dict[str, list[str]] = {}
    for b in blocks:
        merged.setdefault(b["type"], []).extend(b["identifiers"])
    return merged


def conditions(blocks: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """`condition` blocks as an IAM Condition element (operator -> key -> values)."""
    merged: dict[str, dict[str, list[str]]] = {}
    for b in blocks:
        keys = merged.setdefault(b["test"], {})
        if b["variable"] in keys:  # the provider would merge; nothing here does it, so refuse
            raise ValueError(f"two {b['test']} conditions on {b['variable']} in one statement")
        keys[b["variable"]] = [str(v) for v in b["values"]]
    return merged
