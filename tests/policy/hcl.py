"""Terraform read with python-hcl2, and its `${...}` references resolved from a table of values.

No terraform binary and no AWS account: a reference resolves only if the table (or an attribute
derived from it) holds it, and anything else raises `Unresolved` naming the expression, so a
change to the Terraform that this reading does not cover fails the test instead of being skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "terraform"
_REFERENCE = re.compile(r"\$\{([^{}]*)\}")
_TOSTRING = re.compile(r"tostring\((.+)\)")
# `[for name in [a, b] : "...${name}..."]`: the one `for` form the Terraform uses
_FOR = re.compile(r'\[for (\w+) in (.+?) : "(.*)"\]', re.DOTALL)
KINDS = ("resource", "data", "variable", "module", "output")


class Unresolved(LookupError):
    """A Terraform expression the table of values does not answer."""


def clean(value: Any) -> Any:
    """Strip python-hcl2's quotes on names and strings and its `__...__` markers."""
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load(folder: Path) -> dict[str, Any]:
    """A module's blocks: resource[type][name], data[type][name], variable, module, output, locals."""
    merged: dict[str, Any] = {kind: {} for kind in KINDS} | {"locals": {}}
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            document = clean(hcl2.load(handle))
        for kind in ("resource", "data"):
            for block in document.get(kind, []):
                for type_, named in block.items():
                    merged[kind].setdefault(type_, {}).update(named)
        for kind in ("variable", "module", "output", "locals"):
            for block in document.get(kind, []):
                merged[kind].update(block)
    return merged


def flatten(prefix: str, value: Any) -> dict[str, Any]:
    """`{"local.names": {...}}` and every `local.names.input` under it, so both resolve."""
    found = {prefix: value}
    if isinstance(value, dict):
        for key, inner in value.items():
            found |= flatten(f"{prefix}.{key}", inner)
    return found


class Scope:
    """The values one module's references resolve to; `child` adds names (`statement.value`)."""

    def __init__(self, values: Mapping[str, Any], expressions: Mapping[str, Any]) -> None:
        self.values = dict(values)
        self.expressions = expressions  # whole expressions the table answers, e.g. a conditional

    def child(self, extra: Mapping[str, Any]) -> Scope:
        """This scope with more names."""
        return Scope({**self.values, **extra}, self.expressions)

    def lookup(self, expression: str) -> Any:
        """The value of one `${...}` expression."""
        expression = expression.strip()
        if expression in self.expressions:
            return self.expressions[expression]
        if expression in self.values:
            return self.values[expression]
        if match := _TOSTRING.fullmatch(expression):
            return str(self.lookup(match.group(1)))
        if match := _FOR.fullmatch(expression):
            return self._for(*match.groups())
        raise Unresolved(f"no value for the Terraform expression ${{{expression}}}: add it to the table")

    def _for(self, name: str, items: str, template: str) -> list[str]:
        if items.startswith("[") and items.endswith("]"):
            values = [self.lookup(item) for item in items[1:-1].split(",")]
        else:
            values = list(self.lookup(items))
        return [str(self.child({name: value}).resolve(template)) for value in values]

    def resolve(self, value: Any) -> Any:
        """`value` with every reference replaced; a string that is one reference takes its type."""
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, str):
            return value
        if whole := _whole(value):
            return self.lookup(whole)
        if "${" in _REFERENCE.sub("", value):
            raise Unresolved(f"cannot read the Terraform expression {value!r}")
        return _REFERENCE.sub(lambda m: str(self.lookup(m.group(1))), value)


def _whole(value: str) -> str | None:
    """The expression inside `${...}` when that one interpolation is the whole string."""
    if not (value.startswith("${") and value.endswith("}")):
        return None
    depth = 0
    for index, char in enumerate(value[1:], start=1):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and index < len(value) - 1:
            return None  # the first interpolation closed early: a template of several parts
    return value[2:-1]
