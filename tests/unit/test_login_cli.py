"""`imgpipe login` without a local stack to sign in to: it says what to do instead, in one line,
before any request."""

from __future__ import annotations

import pytest

from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: no AWS_* or IMGPIPE_* from the machine)
    invoke,
)

pytestmark = pytest.mark.unit


def test_on_aws_it_points_at_the_apps_sign_in_instead_of_pretending() -> None:
    # Given no AWS_ENDPOINT_URL: the deployment is AWS, whose users sign in through an app
    result = invoke("login", "--user", "alice")
    # Then a usage error saying where tokens come from there, and nothing on stdout
    line = assert_failure(result, 2, "local stack only", "AWS_ENDPOINT_URL is not set", "hosted UI")
    assert "Authorization: Bearer" in line
    assert result.stdout == ""


def test_an_empty_user_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert_failure(invoke("login", "--user", " "), 2, "--user must not be empty")


def test_the_user_is_required() -> None:
    result = invoke("login")
    assert result.exit_code == 2
