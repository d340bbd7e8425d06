"""One problem shape for every failure: a stable type URI per kind, and validation problems that
name each field as a person would look for it."""

from __future__ import annotations

import pytest

from shared.errors import CorruptImage, ImageTooLarge, InvalidKey, UnsupportedFormat
from worker.api.problems import (
    ALL,
    INVALID_FILENAME,
    TOO_LARGE,
    UNSUPPORTED_TYPE,
    field_path,
    refusal,
    validation_problem,
)
from worker.api.reasons import reason_for

pytestmark = pytest.mark.unit


def test_every_problem_type_has_its_own_stable_uri_and_an_error_status() -> None:
    uris = [kind.uri for kind in ALL]
    assert len(set(uris)) == len(uris)
    assert all(uri.startswith("https://imgpipe.dev/problems/") for uri in uris)
    assert all(400 <= kind.status <= 599 and kind.title for kind in ALL)


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "files", 3, "size"), "files[3].size"),
        (("body", "contentType"), "contentType"),
        (("query", "limit"), "limit"),
        (("body",), "body"),
        (("body", "files"), "files"),
    ],
)
def test_a_field_is_named_as_a_path(loc: tuple[int | str, ...], path: str) -> None:
    assert field_path(loc) == path


def test_validation_errors_name_every_field_with_a_readable_message() -> None:
    problem = validation_problem(
        [
            {"type": "extra_forbidden", "loc": ("body", "userId"), "msg": "Extra inputs are not permitted"},
            {"type": "missing", "loc": ("body", "files", 0, "size"), "msg": "Field required"},
            {
                "type": "too_long",
                "loc": ("body", "files"),
                "msg": "...",
                "ctx": {"max_length": 100, "actual_length": 101},
            },
        ]
    )
    body = problem.to_dict()
    assert body["type"].endswith("/invalid-request") and body["status"] == 422
    assert body["errors"] == [
        {"field": "userId", "message": "unknown field"},
        {"field": "files[0].size", "message": "required"},
        {"field": "files", "message": "at most 100 items, got 101"},
    ]
    assert (
        body["detail"] == "userId: unknown field; files[0].size: required; files: at most 100 items, got 101"
    )


def test_a_body_that_is_not_json_is_its_own_problem() -> None:
    problem = validation_problem([{"type": "json_invalid", "loc": ("body", 1), "msg": "JSON decode error",
                                   "ctx": {"error": "Expecting value"}}])  # fmt: skip
    assert problem.kind.slug == "malformed-json" and problem.kind.status == 400
    assert problem.detail == "the body is not a JSON object: Expecting value"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (UnsupportedFormat("x"), UNSUPPORTED_TYPE),
        (ImageTooLarge("x"), TOO_LARGE),
        (InvalidKey("x"), INVALID_FILENAME),
    ],
)
def test_an_upload_refused_by_shared_rules_maps_to_its_problem(error: Exception, kind: object) -> None:
    assert refusal(error).kind is kind  # type: ignore[arg-type]


def test_an_error_that_is_no_refusal_is_not_turned_into_one() -> None:
    with pytest.raises(TypeError):
        refusal(CorruptImage("not a client's mistake"))


@pytest.mark.parametrize(
    "error_type", ["CorruptImage", "UnsupportedFormat", "ImageTooLarge", "SourceMissing"]
)
def test_a_known_failure_has_its_own_sentence(error_type: str) -> None:
    reason = reason_for(error_type)
    assert reason != reason_for("SomethingNew") and reason.endswith(".")


def test_an_unknown_failure_still_says_what_to_do() -> None:
    assert "Upload it again" in reason_for("SomethingNew")
