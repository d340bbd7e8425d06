"""CORS at the front door is the gateway's, as with an HTTP API's CORS configuration: preflights are
answered without a token or the function, allowed origins get the headers on every answer (a 401
included, so a browser app can read it), and the function's own CORS headers are dropped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.local.cognito import sign_in
from deploy.local.motoserver import MotoServer
from tests.integration import front_door_echo as echo
from tests.integration.front_door_support import APP_ORIGIN, Door, serving

pytestmark = pytest.mark.integration

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


@pytest.fixture
def door(moto_server: MotoServer) -> Iterator[Door]:
    moto_server.reset()
    echo.CALLS.clear()
    with serving(moto_server) as running:
        yield running


def test_a_preflight_from_an_allowed_origin_is_answered_by_the_gateway(door: Door) -> None:
    # When a browser on the app's origin asks whether it may POST with a token
    reply = door.call("OPTIONS", "/v1/uploads", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    # Then a 204 says so, with no token asked for and no function called
    assert reply.status == 204 and reply.body == b""
    assert reply.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in reply.headers["access-control-allow-methods"].split(",")
    assert {"authorization", "content-type"} <= set(reply.headers["access-control-allow-headers"].split(","))
    assert int(reply.headers["access-control-max-age"]) > 0
    assert echo.CALLS == []


def test_a_preflight_from_another_origin_gets_no_cors_headers(door: Door) -> None:
    reply = door.call("OPTIONS", "/v1/uploads", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert reply.status == 204
    assert not [name for name in reply.headers if name.startswith("access-control-")]
    assert echo.CALLS == []


def test_the_gateways_cors_headers_replace_the_functions(door: Door) -> None:
    # Given a function that answers with CORS headers of its own
    token = sign_in(door.cognito, door.pool, "alice").access_token
    # When the app's origin calls it
    reply = door.call("GET", "/v1/images?cors=1", token, headers={"Origin": APP_ORIGIN})
    # Then the gateway's headers are the ones that arrive
    assert reply.status == 200 and reply.headers["x-echo"] == "1"
    assert reply.headers["access-control-allow-origin"] == APP_ORIGIN
    # and from an origin not allowed, none at all (not even the function's)
    other = door.call("GET", "/v1/images?cors=1", token, headers={"Origin": "https://evil.example"})
    assert other.status == 200
    assert "access-control-allow-origin" not in other.headers


def test_a_401_carries_the_cors_headers_so_the_app_can_read_it(door: Door) -> None:
    reply = door.call("GET", "/v1/images", headers={"Origin": APP_ORIGIN})
    assert reply.status == 401
    assert reply.headers["access-control-allow-origin"] == APP_ORIGIN
