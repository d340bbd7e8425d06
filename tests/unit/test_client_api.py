"""deploy.client as locust drives it: a call that got no answer is an error, never a success, and
a token is renewed before it expires."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from deploy.client import ApiError, ImgpipeApi, TokenSource, UploadRefused

pytestmark = pytest.mark.unit


def _no_answer(error: Exception) -> requests.Response:
    # what locust's HttpSession returns for a failed connection (its ResponseContextManager(error),
    # not imported here: importing locust monkey-patches the test process)
    response = requests.Response()
    response.status_code = 0
    response.error = error  # type: ignore[attr-defined]
    return response


class NoAnswer:
    """A session answering as locust's HttpSession does when the connection fails: status 0."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def request(self, method: str, url: str, name: str | None = None, **kwargs: Any) -> requests.Response:
        self.calls.append((url, name))
        return _no_answer(requests.ConnectionError("connection refused"))


CREATED = {"imageId": "img", "key": "uploads/s/img.jpg", "upload": {"url": "http://s3/b", "fields": {}}}


def test_a_connection_failure_under_locust_is_an_api_error() -> None:
    # Given the API client on a locust-like session whose connection fails
    session = NoAnswer()
    api = ImgpipeApi("http://api", lambda: "token", session)  # type: ignore[arg-type]
    # When an image's status is asked for
    with pytest.raises(ApiError) as raised:
        api.image("img")
    # Then it is an error with status 0 that says no answer came, and locust got the route's name
    assert raised.value.status == 0 and "ConnectionError" in str(raised.value)
    assert session.calls == [("http://api/v1/images/img", "/v1/images/{imageId}")]


def test_a_transfer_with_no_answer_is_refused_not_taken_as_sent() -> None:
    # Given the same session, When a file is sent to S3 with its form
    api = ImgpipeApi("http://api", lambda: "token", NoAnswer())  # type: ignore[arg-type]
    with pytest.raises(UploadRefused) as raised:
        api.send(CREATED, b"data", "a.jpg")
    # Then the transfer is not taken as done
    assert raised.value.status == 0 and raised.value.code.startswith("no answer (ConnectionError")


def test_a_token_is_renewed_before_it_expires() -> None:
    # Given a sign-in that gives tokens living an hour, and a clock
    now = [0.0]
    issued: list[str] = []

    def sign_in() -> tuple[str, int]:
        issued.append(f"t{len(issued)}")
        return issued[-1], 3600

    tokens = TokenSource(sign_in, margin_s=300, clock=lambda: now[0])
    # When it is asked for at the start, 55 minutes in, then past the margin
    first = tokens()
    now[0] = 3299.0
    still = tokens()
    now[0] = 3300.0
    renewed = tokens()
    # Then it signs in once at first, keeps the token until 5 minutes before expiry, then signs in again
    assert (first, still, renewed) == ("t0", "t0", "t1") and tokens.sign_ins == 2
