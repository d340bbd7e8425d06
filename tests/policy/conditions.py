"""IAM condition operators, with the absent-key rules AWS applies.

From the IAM User Guide ("Condition operators"; "Conditions with multiple context keys or values"):
- a key absent from the request context makes a condition false, except for negated operators
  (`StringNotEquals`, `ArnNotLike`, ...), which are then true: a `StringNotEquals` Deny applies
  to a request that lacks the key;
- `...IfExists`: the condition is checked when the key is present and is TRUE when it is absent;
  the guide: with "Deny" and `StringNotEqualsIfExists`, "the request is still denied even if the
  condition key is not present" (IfExists loosens an Allow, it never narrows a Deny);
- `Null`: "true" holds when the key is absent, "false" when it is present;
- several values for one key are OR'ed, and NOR'ed for a negated operator;
- several keys, and several operators, are AND'ed.
Keys are case-insensitive; values compare case-sensitively unless the operator says IgnoreCase.
Operators not listed here are refused, so a policy that starts using one fails loudly instead of
being half-understood.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Match = Callable[[str, str], bool]


class UnsupportedCondition(ValueError):
    """A condition this evaluator does not model (set operators, numbers, dates, IPs)."""


def glob(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: `*` any run of characters, `?` one character, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def arn_like(pattern: str, arn: str) -> bool:
    """ArnEquals/ArnLike: the six colon-separated parts compared one by one, wildcards allowed."""
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(given) == 6 and all(glob(w, g) for w, g in zip(wanted, given, strict=True))


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


# operator -> (how one policy value matches the request's value, negated?)
OPERATORS: dict[str, tuple[Match, bool]] = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (glob, False),
    "StringNotLike": (glob, True),
    "ArnEquals": (arn_like, False),
    "ArnLike": (arn_like, False),
    "ArnNotEquals": (arn_like, True),
    "ArnNotLike": (arn_like, True),
    "Bool": (_bool, False),
}


def condition_holds(operator: str, key: str, values: Sequence[str], context: Mapping[str, str]) -> bool:
    """Whether one operator/key pair of a Condition block holds for the request context."""
    present = {k.lower(): v for k, v in context.items()}
    value = present.get(key.lower())
    if operator == "Null":
        if len(values) != 1 or values[0].lower() not in ("true", "false"):
            raise UnsupportedCondition(f"Null takes one value, true or false: {values!r}")
        return (value is None) == (values[0].lower() == "true")
    base = operator.removesuffix("IfExists")
    if base not in OPERATORS or ":" in operator:
        raise UnsupportedCondition(f"condition operator {operator!r} is not modelled; add it with a test")
    match, negated = OPERATORS[base]
    if value is None:
        return base != operator or negated  # IfExists: true; negated: true; otherwise false
    hit = any(match(str(v), value) for v in values)
    return not hit if negated else hit


def block_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """A whole Condition block: every operator and every key under it must hold."""
    return all(
        condition_holds(operator, key, values if isinstance(values, list) else [values], context)
        for operator, keys in condition.items()
        for key, values in keys.items()
    )
