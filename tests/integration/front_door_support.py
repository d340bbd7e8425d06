"""The front door under test: served from a thread of the test process (so the echo handler's record
of calls is visible), in front of a real user pool on the session's moto server.

Tokens other than moto's own are minted with moto's signing key, which ships inside moto: that is
how a test gets a validly signed token with one claim wrong, so the claim is what gets refused.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import jwt
from moto.utilities.utils import load_resource
from werkzeug.serving import make_server

from deploy.local.cognito import UserPool, provision_user_pool
from deploy.local.front_door.app import FrontDoor
from deploy.local.front_door.authorizer import JwtAuthorizer
from deploy.local.front_door.cors import Cors
from deploy.local.motoserver import MotoServer

if TYPE_CHECKING:
    from types_boto3_cognito_idp import CognitoIdentityProviderClient

ECHO = "tests.integration.front_door_echo.handler"
APP_ORIGIN = "https://app.example"
MOTO_KID = "dummy"  # the kid moto's JWKS and tokens carry


def moto_signing_key() -> Any:
    """The private key moto signs every user pool's tokens with."""
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def mint(claims: dict[str, Any], key: Any = None, kid: str = MOTO_KID, algorithm: str = "RS256") -> str:
    """A JWT with these claims, signed with moto's key unless another is given."""
    return jwt.encode(claims, key or moto_signing_key(), algorithm=algorithm, headers={"kid": kid})


def unverified(token: str) -> dict[str, Any]:
    """A token's claims, read without checking anything."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token assembled by hand, for headers no library would sign (alg none, HS256 with an RSA key)."""
    parts = [b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode())]
    return ".".join([*parts, b64url(signature)])


@dataclass
class Reply:
    """An HTTP response, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Door:
    """A running front door and the pool whose tokens it accepts."""

    url: str
    pool: UserPool
    cognito: CognitoIdentityProviderClient

    def call(
        self, method: str, path: str, token: str | None = None, headers: dict[str, str] | None = None,
        body: bytes | None = None, scheme: str = "Bearer ",
    ) -> Reply:  # fmt: skip
        """Send one request; a token goes in the Authorization header after `scheme`."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"{scheme}{token}"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Reply(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, _lower(error.headers.items()), error.read())


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def cognito_client(server: MotoServer) -> CognitoIdentityProviderClient:
    """A cognito-idp client on the test's moto server."""
    env = server.environment()
    return boto3.client(
        "cognito-idp",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


@contextmanager
def serving(
    server: MotoServer, handler: str = ECHO, jwks_url: str | None = None, prefix: str = "it"
) -> Iterator[Door]:
    """A fresh user pool on `server`, and a front door for it calling `handler`, until the block ends."""
    cognito = cognito_client(server)
    pool = provision_user_pool(cognito, server.endpoint, prefix)
    authorizer = JwtAuthorizer(pool.issuer, (pool.client_id,), jwks_url or pool.jwks_url)
    app = FrontDoor(handler, authorizer, Cors((APP_ORIGIN,)))
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Door(f"http://127.0.0.1:{http.port}", pool, cognito)
    finally:
        http.shutdown()
        thread.join(timeout=10)


def now() -> int:
    """The current time as JWT claims count it."""
    return int(time.time())
