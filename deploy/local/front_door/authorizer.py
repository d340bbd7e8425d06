"""API Gateway's JWT authorizer, reproduced with PyJWT: which tokens reach the handler, and the claims
it sees.

As API Gateway documents it: the token is the Authorization header, bare or after `Bearer `; it
is decoded, its RSA signature checked with the key its `kid` names in the issuer's JWKS (cached
for two hours); then `iss` must be the configured issuer, `exp` after now, `nbf` and `iat` not
after now, and the audience one of the configured ones. Stricter than API Gateway in one respect,
since the only issuer here is Cognito: `token_use` must be `id` (audience in `aud`) or `access`
(audience in `client_id`). Any failure is a 401 and the function is not called.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import jwt

RSA_ALGORITHMS = ["RS256", "RS384", "RS512"]
KEY_CACHE_S = 2 * 3600  # API Gateway "can cache the public key for two hours"
JWKS_TIMEOUT_S = 5
REQUIRED_CLAIMS = ["iss", "sub", "exp", "iat", "token_use"]
AUDIENCE_CLAIM = {"id": "aud", "access": "client_id"}  # Cognito puts the app client id here


class Unauthorized(Exception):
    """The token is missing or not one the authorizer accepts; the message says which check failed."""


class KeysUnavailable(Exception):
    """The issuer's JWKS could not be fetched: the authorizer cannot decide either way."""


@dataclass
class JwtAuthorizer:
    """Checks bearer tokens against one issuer, its JWKS and a set of audiences (app client ids)."""

    issuer: str
    audiences: Collection[str]
    jwks_url: str
    _keys: jwt.PyJWKClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = jwt.PyJWKClient(self.jwks_url, lifespan=KEY_CACHE_S, timeout=JWKS_TIMEOUT_S)

    def authorize(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims of the token in an Authorization header value; raises `Unauthorized`."""
        token = bearer_token(authorization)
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"the token is not a JWT: {exc}") from exc
        if algorithm not in RSA_ALGORITHMS:
            raise Unauthorized(f"the token's algorithm {algorithm!r} is not an RSA one")
        key = self._signing_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=RSA_ALGORITHMS,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS, "verify_aud": False},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(str(exc)) from exc
        self._check_audience(claims)
        return claims

    def _signing_key(self, token: str) -> Any:
        try:
            return self._keys.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(f"cannot fetch {self.jwks_url}: {exc}") from exc
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthorized(f"no key in the issuer's JWKS signed the token: {exc}") from exc

    def _check_audience(self, claims: dict[str, Any]) -> None:
        use = claims["token_use"]
        if use not in AUDIENCE_CLAIM:
            raise Unauthorized(f"token_use {use!r} is neither id nor access")
        audience = claims.get(AUDIENCE_CLAIM[use])
        given = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(value, str) and value in self.audiences for value in given):
            raise Unauthorized("the token does not have a valid audience")


def bearer_token(authorization: str | None) -> str:
    """The token in an Authorization header value: the whole value, or what follows `Bearer `."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise Unauthorized("no token in the Authorization header")
    return value
