"""What the front door decides before any token is checked: which route takes a request, whether
it is a CORS preflight and for which origins, where the token is in the Authorization header,
and the local user's password; no socket, no AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli.local import api_port_for
from deploy.local.cognito import local_password
from deploy.local.front_door.authorizer import Unauthorized, bearer_token
from deploy.local.front_door.cors import LOCAL_ORIGINS, Cors, cors_from_environment, is_preflight
from deploy.local.front_door.process import DEFAULT_API_PORT
from deploy.local.front_door.routes import ROUTES, find_route
from deploy.local.motoserver import DEFAULT_PORT
from shared.errors import ConfigError
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no IMGPIPE_* from the machine)
    invoke,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("method", "path", "key", "parameters"),
    [("POST", "/v1/uploads", "POST /v1/uploads", {}),
     ("POST", "/v1/uploads/batch", "POST /v1/uploads/batch", {}),
     ("GET", "/v1/images", "GET /v1/images", {}),
     ("GET", "/v1/images/img_1", "GET /v1/images/{imageId}", {"imageId": "img_1"}),
     ("DELETE", "/v1/images/a%2Fb", "DELETE /v1/images/{imageId}", {"imageId": "a/b"}),
     ("GET", "/v1/openapi.json", "GET /v1/openapi.json", {})],
)  # fmt: skip
def test_each_route_takes_its_requests(method: str, path: str, key: str, parameters: dict[str, str]) -> None:
    found = find_route(method, path)
    assert found is not None
    route, given = found
    assert (route.key, given) == (key, parameters)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/uploads"), ("PUT", "/v1/images/x"), ("GET", "/v1/images/"), ("GET", "/v1/images/x/y"),
     ("GET", "/"), ("GET", "/v1/images/x/")],
)  # fmt: skip
def test_no_route_no_function(method: str, path: str) -> None:
    assert find_route(method, path) is None


def test_only_the_openapi_document_is_served_without_a_token() -> None:
    assert [route.key for route in ROUTES if not route.authorized] == ["GET /v1/openapi.json"]


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [(LOCAL_ORIGINS, "http://127.0.0.1:5173", "http://127.0.0.1:5173"),
     (LOCAL_ORIGINS, "http://localhost:3000", "http://localhost:3000"),
     (LOCAL_ORIGINS, "http://localhost", "http://localhost"),
     (LOCAL_ORIGINS, "http://127.0.0.1.evil.example:80", None),
     (LOCAL_ORIGINS, "https://127.0.0.1:5173", None),
     (LOCAL_ORIGINS, "http://localhost:abc", None),
     (("https://app.example",), "https://app.example", "https://app.example"),
     (("https://app.example",), "https://app.example:8443", None),
     (("https://app.example",), None, None),
     (("*",), "https://anyone.example", "*")],
)  # fmt: skip
def test_allowed_origins(origins: tuple[str, ...], origin: str | None, allowed: str | None) -> None:
    assert Cors(origins).allowed(origin) == allowed


def test_a_preflight_is_an_options_with_origin_and_requested_method() -> None:
    assert is_preflight("OPTIONS", {"origin": "o", "access-control-request-method": "POST"})
    assert not is_preflight("OPTIONS", {"origin": "o"})
    assert not is_preflight("POST", {"origin": "o", "access-control-request-method": "POST"})


def test_a_preflight_from_an_origin_not_allowed_gets_no_cors_headers() -> None:
    cors = Cors(("https://app.example",))
    assert cors.preflight_headers("https://evil.example") == {}
    assert cors.response_headers("https://evil.example") == {}
    headers = cors.preflight_headers("https://app.example")
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in headers["access-control-allow-headers"]


@pytest.mark.parametrize(
    ("value", "origins"),
    [(None, LOCAL_ORIGINS), ("", LOCAL_ORIGINS), ('["https://a.example", "*"]', ("https://a.example", "*"))],
)
def test_origins_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, origins: tuple[str, ...]
) -> None:
    if value is None:
        monkeypatch.delenv("IMGPIPE_CORS_ORIGINS", raising=False)
    else:
        monkeypatch.setenv("IMGPIPE_CORS_ORIGINS", value)
    assert cors_from_environment().origins == origins


@pytest.mark.parametrize("value", ["https://a.example", '"https://a.example"', "[1]", '[""]'])
def test_origins_that_are_not_a_json_list_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("IMGPIPE_CORS_ORIGINS", value)
    with pytest.raises(ConfigError, match="IMGPIPE_CORS_ORIGINS"):
        cors_from_environment()


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer  abc.def.ghi ", "abc.def.ghi"),
        ("abc.def.ghi", "abc.def.ghi"),
    ],
    ids=["bearer", "lowercase-scheme", "bare-token"],
)
def test_the_token_is_the_header_bare_or_after_bearer(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   "])
def test_no_token_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized, match="no token"):
        bearer_token(header)


def test_a_local_password_is_stable_per_pool_and_user_and_meets_cognitos_default_policy() -> None:
    password = local_password("us-east-1_pool", "alice")
    assert password == local_password("us-east-1_pool", "alice")
    assert password != local_password("us-east-1_pool", "bob") != local_password("us-east-1_other", "alice")
    assert len(password) >= 8
    assert any(c.isupper() for c in password) and any(c.islower() for c in password)
    assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)


@pytest.mark.parametrize(
    ("port", "api_port", "chosen"),
    [(4580, None, (4581, True)), (5000, None, (5001, True)), (0, None, (None, True)),
     (65535, None, (None, True)), (4580, 9000, (9000, False)), (4580, 0, (None, False))],
)  # fmt: skip
def test_the_api_port_is_beside_a_fixed_moto_port_unless_given(
    port: int, api_port: int | None, chosen: tuple[int | None, bool]
) -> None:
    assert api_port_for(port, api_port) == chosen


def test_by_default_the_api_listens_on_4581_beside_moto_on_4580() -> None:
    assert (DEFAULT_PORT, api_port_for(DEFAULT_PORT, None)[0]) == (4580, DEFAULT_API_PORT) == (4580, 4581)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [("IMGPIPE_CORS_ORIGINS", "https://app.example", "IMGPIPE_CORS_ORIGINS is not JSON"),
     ("IMGPIPE_CORS_ORIGINS", '["https://app.example/path"]', "IMGPIPE_CORS_ORIGINS"),
     ("IMGPIPE_UPLOAD_URL_TTL_S", "86400", "IMGPIPE_UPLOAD_URL_TTL_S")],
    ids=["origins-not-json", "origin-with-a-path", "upload-url-ttl-over-an-hour"],
)  # fmt: skip
def test_local_up_refuses_what_the_api_or_its_front_door_would_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, reason: str
) -> None:
    # Given a setting the API function (or the door in front of it) would refuse at its start
    monkeypatch.setenv(variable, value)
    # When the stack is started, then it is a usage error naming the variable, and nothing started
    result = invoke("local", "up", "--port", "0", "--logs", "logs")
    assert_failure(result, 2, reason)
    assert not (tmp_path / "logs").exists()
