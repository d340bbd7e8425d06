"""Every failure a client can meet, as one RFC 9457 problem shape with a stable `type` URI.

A client branches on `type` (never on `title` or `detail`, which are for people); `status`
repeats the HTTP status. Validation problems add `errors`, one per field, each naming it as a
path (`files[3].size`), so a person can find what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import ImageTooLarge, ImgpipeError, InvalidKey, UnsupportedFormat

PROBLEM_JSON = "application/problem+json"
BASE = "https://imgpipe.dev/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: its URI slug, HTTP status and short title."""

    slug: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        """The stable `type` URI clients branch on."""
        return BASE + self.slug


MALFORMED_JSON = ProblemType("malformed-json", 400, "Request body is not a JSON object")
INVALID_REQUEST = ProblemType("invalid-request", 422, "Request is not valid")
UNSUPPORTED_MEDIA_TYPE = ProblemType("unsupported-media-type", 415, "Request body must be JSON")
UNSUPPORTED_TYPE = ProblemType("unsupported-type", 422, "Image type not accepted")
INVALID_FILENAME = ProblemType("invalid-filename", 422, "File name cannot be used")
TOO_LARGE = ProblemType("too-large", 422, "File is over the size limit")
INVALID_CURSOR = ProblemType("invalid-cursor", 400, "Cursor is not valid")
UNAUTHENTICATED = ProblemType("unauthenticated", 401, "Not signed in")
NOT_FOUND = ProblemType("not-found", 404, "Not found")
UNAVAILABLE = ProblemType("unavailable", 503, "Storage is busy; try again")
INTERNAL = ProblemType("internal-error", 500, "Internal error")
ALL = (
    MALFORMED_JSON, INVALID_REQUEST, UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED_TYPE, INVALID_FILENAME,
    TOO_LARGE, INVALID_CURSOR, UNAUTHENTICATED, NOT_FOUND, UNAVAILABLE, INTERNAL,
)  # fmt: skip

# What an upload's refusal (shared's taxonomy, raised by shared.uploads) is called here.
_REFUSALS: tuple[tuple[type[ImgpipeError], ProblemType], ...] = (
    (UnsupportedFormat, UNSUPPORTED_TYPE),
    (ImageTooLarge, TOO_LARGE),
    (InvalidKey, INVALID_FILENAME),
)


class ApiProblem(Exception):
    """Raised anywhere below a route; the resolver answers it as a problem response."""

    def __init__(self, kind: ProblemType, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.extensions = extensions

    def to_dict(self) -> dict[str, Any]:
        """The RFC 9457 body."""
        body = {"type": self.kind.uri, "title": self.kind.title, "status": self.kind.status}
        return {**body, "detail": self.detail, **self.extensions}

    def to_json(self) -> str:
        """The body as the response carries it."""
        return json.dumps(self.to_dict(), separators=(",", ":"))


def refusal(exc: ImgpipeError) -> ApiProblem:
    """The problem for an upload refused by shared's rules (type, name, size)."""
    for cls, kind in _REFUSALS:
        if isinstance(exc, cls):
            return ApiProblem(kind, str(exc))
    raise TypeError(f"no problem type for {type(exc).__name__}") from exc


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a person reads it: `files[3].size` (the `body` root dropped)."""
    parts = list(loc[1:] if loc and loc[0] in {"body", "query", "path"} else loc)
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def validation_problem(errors: Iterable[Mapping[str, Any]]) -> ApiProblem:
    """One problem naming every invalid field, or `malformed-json` when the body did not parse."""
    errors = list(errors)
    if any(error.get("type") == "json_invalid" for error in errors):
        cause = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {}).get("error")
        return ApiProblem(MALFORMED_JSON, f"the body is not a JSON object{f': {cause}' if cause else ''}")
    fields = [{"field": field_path(e.get("loc", ())), "message": _message(e)} for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return ApiProblem(INVALID_REQUEST, detail, errors=fields)


def _message(error: Mapping[str, Any]) -> str:
    # pydantic's messages are fine for people, except these two, which name Python concepts.
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required"
    ctx = error.get("ctx") or {}
    if kind == "too_long" and "max_length" in ctx:
        return f"at most {ctx['max_length']} items, got {ctx.get('actual_length', 'more')}"
    if kind == "too_short" and "min_length" in ctx:
        items = "item" if ctx["min_length"] == 1 else "items"
        return f"at least {ctx['min_length']} {items}, got {ctx.get('actual_length', 'fewer')}"
    return str(error.get("msg", "invalid"))
