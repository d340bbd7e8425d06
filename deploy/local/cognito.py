"""Sign-in on the local stack: a Cognito user pool and app client on the moto server, and local users.

The moto server's cognito-idp issues real RS256 tokens (`InitiateAuth`) and serves the pool's
JWKS at `{endpoint}/{poolId}/.well-known/jwks.json`; the tokens' `iss` is the AWS form,
`https://cognito-idp.{region}.amazonaws.com/{poolId}`, so the front door checks exactly the
issuer an API Gateway JWT authorizer over that pool would, and fetches the keys locally.

Moto signs every pool's tokens with one key pair that ships inside moto itself: anyone with moto
can mint a token this stack accepts. That is fine for a stack on loopback with the credentials
`testing`, and the reason none of this is ever pointed at AWS.

A local user's password is derived from the pool id and the user name (`local_password`), so
`imgpipe login --user alice` can create alice once and sign her in again later without storing
anything; a new stack (a new pool) gives everyone new passwords.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_boto3_cognito_idp import CognitoIdentityProviderClient as Cognito
    from types_boto3_cognito_idp.literals import ExplicitAuthFlowsTypeType

POOL_SUFFIX = "users"
CLIENT_SUFFIX = "local"
AUTH_FLOWS: list[ExplicitAuthFlowsTypeType] = [
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]


class NoUserPool(LookupError):
    """The endpoint has no imgpipe user pool (or app client): not a local stack with sign-in."""


@dataclass(frozen=True)
class UserPool:
    """What clients and the front door need to know about the pool."""

    pool_id: str
    client_id: str
    region: str
    endpoint: str

    @property
    def issuer(self) -> str:
        """The `iss` of this pool's tokens: Cognito's AWS form, which moto uses too."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        """Where the moto server serves the pool's signing keys."""
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"


@dataclass(frozen=True)
class Tokens:
    """An `AuthenticationResult`, in the shape `imgpipe login --json` prints."""

    id_token: str
    access_token: str
    refresh_token: str
    expires_in: int

    def to_json(self) -> dict[str, Any]:
        """`{idToken, accessToken, refreshToken, expiresIn}`."""
        return {
            "idToken": self.id_token,
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "expiresIn": self.expires_in,
        }


def provision_user_pool(cognito: Cognito, endpoint: str, prefix: str = "imgpipe") -> UserPool:
    """Create the user pool and its app client (public: no secret, as a browser or phone app's)."""
    pool = cognito.create_user_pool(PoolName=f"{prefix}-{POOL_SUFFIX}")["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=f"{prefix}-{CLIENT_SUFFIX}",
        GenerateSecret=False,
        ExplicitAuthFlows=AUTH_FLOWS,
    )["UserPoolClient"]
    return UserPool(pool["Id"], client["ClientId"], cognito.meta.region_name, endpoint)


def find_user_pool(cognito: Cognito, endpoint: str, prefix: str = "imgpipe") -> UserPool:
    """The pool `provision_user_pool` made on this endpoint, found by its name; `NoUserPool` if none."""
    name = f"{prefix}-{POOL_SUFFIX}"
    pools = [p for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == name]
    if not pools:
        raise NoUserPool(f"no user pool named {name} at {endpoint}")
    pool_id = pools[-1]["Id"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    wanted = [c for c in clients if c["ClientName"] == f"{prefix}-{CLIENT_SUFFIX}"]
    if not wanted:
        raise NoUserPool(f"user pool {pool_id} at {endpoint} has no app client {prefix}-{CLIENT_SUFFIX}")
    return UserPool(pool_id, wanted[-1]["ClientId"], cognito.meta.region_name, endpoint)


def local_password(pool_id: str, user: str) -> str:
    """The user's password on this pool: derived, so nothing is stored; meets Cognito's default policy."""
    digest = hmac.new(pool_id.encode(), user.encode(), hashlib.sha256).hexdigest()
    return f"Local-{digest[:24]}-A1"


def sign_in(cognito: Cognito, pool: UserPool, user: str) -> Tokens:
    """Tokens for `user`, created first if the pool does not have them, as an app's sign-in returns."""
    password = local_password(pool.pool_id, user)
    _ensure_user(cognito, pool, user, password)
    try:
        return _password_auth(cognito, pool, user, password)
    except cognito.exceptions.NotAuthorizedException:
        # made by something else with another password: locally, login's password wins
        _set_password(cognito, pool, user, password)
        return _password_auth(cognito, pool, user, password)


def _ensure_user(cognito: Cognito, pool: UserPool, user: str, password: str) -> None:
    try:
        cognito.admin_create_user(UserPoolId=pool.pool_id, Username=user, MessageAction="SUPPRESS")
    except cognito.exceptions.UsernameExistsException:
        return
    _set_password(cognito, pool, user, password)


def _set_password(cognito: Cognito, pool: UserPool, user: str, password: str) -> None:
    # Permanent: no FORCE_CHANGE_PASSWORD challenge standing between the user and a token
    cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=user, Password=password, Permanent=True)


def _password_auth(cognito: Cognito, pool: UserPool, user: str, password: str) -> Tokens:
    result = cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )["AuthenticationResult"]
    return Tokens(result["IdToken"], result["AccessToken"], result["RefreshToken"], int(result["ExpiresIn"]))
