"""The front door refuses, as API Gateway's JWT authorizer does, every token it should, with a 401
`{"message":"Unauthorized"}` and without calling the function; and a good token reaches the
function with its claims, in an event Powertools' own resolver routes.

The tokens are real: Cognito's on the moto server, or signed with moto's key with one claim wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from deploy.local.cognito import Tokens, sign_in
from deploy.local.motoserver import MotoServer
from tests.integration import front_door_echo as echo
from tests.integration.front_door_support import (
    Door,
    hand_made,
    mint,
    moto_signing_key,
    now,
    serving,
    unverified,
)

pytestmark = pytest.mark.integration

UNAUTHORIZED = b'{"message":"Unauthorized"}'


@pytest.fixture
def door(moto_server: MotoServer) -> Iterator[Door]:
    moto_server.reset()
    echo.CALLS.clear()
    with serving(moto_server) as running:
        yield running


@pytest.fixture
def alice(door: Door) -> Tokens:
    return sign_in(door.cognito, door.pool, "alice")


def claims_of(tokens: Tokens, use: str = "access") -> dict[str, Any]:
    return unverified(tokens.access_token if use == "access" else tokens.id_token)


def foreign_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _tampered(tokens: Tokens, door: Door) -> str:
    header, _, signature = tokens.access_token.split(".")
    claims = {**claims_of(tokens), "sub": "someone-else"}
    return ".".join([header, hand_made({}, claims).split(".")[1], signature])


def _hs256_with_the_public_key(tokens: Tokens, door: Door) -> str:
    public = (
        moto_signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": "dummy"}
    unsigned = hand_made(header, claims_of(tokens)).rsplit(".", 1)[0]
    signature = hmac.new(public, unsigned.encode(), hashlib.sha256).digest()
    return hand_made(header, claims_of(tokens), signature)


def _with(change: Callable[[dict[str, Any], Door], dict[str, Any]], use: str = "access") -> Any:
    return lambda tokens, door: mint(change(claims_of(tokens, use), door))


def _without(name: str, use: str = "access") -> Any:
    return _with(lambda c, d: {k: v for k, v in c.items() if k != name}, use)


BAD_TOKENS: dict[str, Callable[[Tokens, Door], str | None]] = {
    "missing": lambda tokens, door: None,
    "not-a-jwt": lambda tokens, door: "not-a-jwt",
    "expired": _with(lambda c, d: {**c, "iat": now() - 7200, "exp": now() - 60}),
    "not-yet-valid-nbf": _with(lambda c, d: {**c, "nbf": now() + 600}),
    "issued-in-the-future": _with(lambda c, d: {**c, "iat": now() + 600, "exp": now() + 4200}),
    "no-exp": _without("exp"),
    "wrong-audience-access": _with(lambda c, d: {**c, "client_id": "another-app-client"}),
    "wrong-audience-id": _with(lambda c, d: {**c, "aud": "another-app-client"}, use="id"),
    "wrong-issuer": _with(lambda c, d: {**c, "iss": c["iss"] + "x"}),
    "token-use-refresh": _with(lambda c, d: {**c, "token_use": "refresh"}),
    "no-token-use": _without("token_use"),
    "id-token-without-aud": _with(
        lambda c, d: {**{k: v for k, v in c.items() if k != "aud"}, "client_id": d.pool.client_id}, use="id"
    ),  # fmt: skip
    "access-token-use-with-only-aud": _with(
        lambda c, d: {**{k: v for k, v in c.items() if k != "client_id"}, "aud": d.pool.client_id}
    ),  # fmt: skip
    "tampered-claims": _tampered,
    "signed-by-another-key": lambda tokens, door: mint(claims_of(tokens), key=foreign_key()),
    "unknown-kid": lambda tokens, door: mint(claims_of(tokens), kid="not-in-the-jwks"),
    "alg-none": lambda tokens, door: hand_made({"alg": "none", "typ": "JWT"}, claims_of(tokens)),
    "hs256-with-the-public-key": _hs256_with_the_public_key,
}


@pytest.mark.parametrize("make", list(BAD_TOKENS.values()), ids=list(BAD_TOKENS))
def test_a_bad_token_is_401_before_the_function_runs(
    door: Door, alice: Tokens, make: Callable[[Tokens, Door], str | None]
) -> None:
    # Given a token the authorizer must refuse (or none)
    token = make(alice, door)
    # When it is sent to a route that needs one
    reply = door.call("GET", "/v1/images/img_1", token)
    # Then API Gateway's 401, and the function was never called
    assert (reply.status, reply.body) == (401, UNAUTHORIZED)
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["www-authenticate"].startswith("Bearer ")
    assert echo.CALLS == []


def test_moto_keyed_minting_is_accepted_when_nothing_is_wrong(door: Door, alice: Tokens) -> None:
    # The refusals above are the claim's doing, not the minting's: unchanged claims pass
    for use in ("access", "id"):
        assert door.call("GET", "/v1/images/img_1", mint(claims_of(alice, use))).status == 200
    assert len(echo.CALLS) == 2


@pytest.mark.parametrize("use", ["access", "id"])
def test_a_good_token_reaches_the_function_with_the_users_sub(door: Door, alice: Tokens, use: str) -> None:
    # Given alice's access token (what `imgpipe login` prints) or her ID token
    token = alice.access_token if use == "access" else alice.id_token
    sub = door.cognito.admin_get_user(UserPoolId=door.pool.pool_id, Username="alice")["UserAttributes"]
    expected_sub = {a["Name"]: a["Value"] for a in sub}["sub"]
    # When she asks for an image
    reply = door.call("GET", "/v1/images/img_1?limit=5", token)
    # Then Powertools' resolver routed the event and saw her claims, every value a string
    assert reply.status == 200, reply.body
    seen = reply.json()
    assert seen["claims"]["sub"] == expected_sub
    assert seen["claims"]["token_use"] == use
    assert all(isinstance(value, str) for value in seen["claims"].values())
    assert (seen["routeKey"], seen["pathParameters"]) == ("GET /v1/images/{imageId}", {"imageId": "img_1"})
    assert seen["query"] == {"limit": "5"}
    # and the function ran once, in a Lambda-like context
    [call] = echo.CALLS
    assert call["function_name"] == "imgpipe-api" and 0 < call["remaining_ms"] <= 29_000
    assert reply.headers["apigw-requestid"] == seen["requestId"]


def test_the_token_may_come_without_bearer(door: Door, alice: Tokens) -> None:
    assert door.call("GET", "/v1/images", alice.access_token, scheme="").status == 200


def test_body_and_cookies_reach_the_function(door: Door, alice: Tokens) -> None:
    body = b'{"filename": "cat.jpg", "contentType": "image/jpeg", "size": 1234}'
    headers = {"Content-Type": "application/json", "Cookie": "theme=dark; lang=en"}
    reply = door.call("POST", "/v1/uploads", alice.access_token, headers, body)
    assert reply.status == 200
    assert reply.json()["body"] == body.decode()
    assert reply.json()["cookies"] == ["theme=dark", "lang=en"]


def test_the_openapi_document_needs_no_token(door: Door) -> None:
    reply = door.call("GET", "/v1/openapi.json")
    assert reply.status == 200 and reply.json()["claims"] is None


@pytest.mark.parametrize("token", [None, "whatever"], ids=["no-token", "bad-token"])
def test_a_request_no_route_takes_is_404_without_the_function(door: Door, token: str | None) -> None:
    reply = door.call("GET", "/v1/nothing-here", token)
    assert (reply.status, reply.body) == (404, b'{"message":"Not Found"}')
    assert echo.CALLS == []


def test_a_function_that_raises_is_a_500(door: Door, alice: Tokens) -> None:
    reply = door.call("GET", "/v1/images?fail=1", alice.access_token)
    assert (reply.status, reply.body) == (500, b'{"message":"Internal Server Error"}')
    assert len(echo.CALLS) == 1


def test_a_function_that_cannot_be_imported_is_a_500_and_tokens_are_still_checked(
    moto_server: MotoServer,
) -> None:
    moto_server.reset()
    with serving(moto_server, handler="tests.integration.no_such_module.handler") as door:
        token = sign_in(door.cognito, door.pool, "alice").access_token
        assert door.call("GET", "/v1/images").status == 401
        assert door.call("GET", "/v1/images", token).status == 500


def test_keys_that_cannot_be_fetched_are_a_503_not_a_call(moto_server: MotoServer) -> None:
    moto_server.reset()
    echo.CALLS.clear()
    with serving(moto_server, jwks_url="http://127.0.0.1:9/jwks.json") as door:
        token = sign_in(door.cognito, door.pool, "alice").access_token
        reply = door.call("GET", "/v1/images", token)
    assert (reply.status, reply.body) == (503, b'{"message":"Service Unavailable"}')
    assert echo.CALLS == []
