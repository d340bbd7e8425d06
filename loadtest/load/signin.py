"""Who the load test's clients are: each locust user signs in as its own Cognito user,
`loadtest-<n>`, so its uploads land under its own sub as a real user's do.

- `--target local`: the local stack's user pool (`IMGPIPE_USER_POOL_ID`, `IMGPIPE_USER_POOL_CLIENT_ID`,
  which the stack exports), through `deploy.local.cognito.sign_in`, which creates the user first.
- `--target aws`: the deployment's pool and app client, with USER_PASSWORD_AUTH (the app client
  must allow it: `api_password_auth = true`, as envs/dev sets). The runner creates (or resets)
  the users before locust starts, with a password made for the run (`IMGPIPE_LOADTEST_PASSWORD`),
  using your AWS credentials (cognito-idp:AdminCreateUser and AdminSetUserPassword on the pool).
  For locust workers on other machines, create them once with
  `IMGPIPE_LOADTEST_PASSWORD=... python -m loadtest.load.signin --users U --processes P`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import os
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

from deploy.client import TokenSource, password_sign_in

USER_PREFIX = "loadtest-"
POOL = "IMGPIPE_USER_POOL_ID"
CLIENT = "IMGPIPE_USER_POOL_CLIENT_ID"
PASSWORD = "IMGPIPE_LOADTEST_PASSWORD"


def user_name(number: int) -> str:
    """The Cognito user name of the load test's client number `number`."""
    return f"{USER_PREFIX}{number}"


def user_count(users: int, processes: int) -> int:
    """How many user names a run may hand out: locust spreads `users` over `processes` unevenly
    by at most one, and each process numbers its own from its index, every `processes`-th."""
    return processes * math.ceil(users / processes)


def cognito_client(env: Mapping[str, str]) -> Any:
    """A cognito-idp client for the pool `env` names (its region is in the pool id)."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or env[POOL].split("_", 1)[0]
    return _client(region)


@functools.cache
def _client(region: str) -> Any:
    # one per process: making a client costs tens of ms of CPU, which in locust stalls every user;
    # it reaches a local stack through AWS_ENDPOINT_URL, as every client here does
    return boto3.Session(region_name=region).client("cognito-idp")


def token_source(env: Mapping[str, str], target: str, name: str) -> TokenSource:
    """User `name`'s access tokens, signed in again before each expires."""
    cognito, client_id = cognito_client(env), env[CLIENT]
    if target == "aws":
        password = env[PASSWORD]
        return TokenSource(lambda: password_sign_in(cognito, client_id, name, password))
    from deploy.local.cognito import UserPool, sign_in

    pool = UserPool(env[POOL], client_id, cognito.meta.region_name, env.get("AWS_ENDPOINT_URL", ""))

    def local() -> tuple[str, int]:
        tokens = sign_in(cognito, pool, name)
        return tokens.access_token, tokens.expires_in

    return TokenSource(local)


def new_password() -> str:
    """A password for one run's users, within Cognito's default policy (upper, lower, digit, symbol)."""
    return f"Lt-{secrets.token_urlsafe(18)}-a1A!"


def ensure_users(cognito: Any, pool_id: str, names: list[str], password: str) -> None:
    """Create each user that is missing, and give every one `password` (permanent: no challenge)."""
    for name in names:
        # a run before may have made it: its password is reset below
        with contextlib.suppress(cognito.exceptions.UsernameExistsException):
            cognito.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=password, Permanent=True)


def aws_users(
    env: Mapping[str, str], users: int, processes: int, say: Callable[[str], None]
) -> dict[str, str]:
    """Make this run's users in the deployment's pool; the variables locust then needs."""
    password = env.get(PASSWORD) or new_password()
    names = [user_name(n) for n in range(user_count(users, processes))]
    say(f"creating or resetting {len(names)} users ({names[0]}..) in {env[POOL]}")
    cognito = cognito_client(env)
    try:
        ensure_users(cognito, env[POOL], names, password)
        password_sign_in(cognito, env[CLIENT], names[0], password)
    except ClientError as exc:  # one line, before any locust user tries and fails the same way
        raise SystemExit(
            f"loadtest: the load test's users cannot sign in to {env[POOL]} through app client"
            f" {env[CLIENT]} with USER_PASSWORD_AUTH ({exc}); the app client must allow it"
            " (api_password_auth = true) and your credentials need cognito-idp:AdminCreateUser and"
            " AdminSetUserPassword on the pool"
        ) from exc
    return {PASSWORD: password}


def main(argv: list[str] | None = None) -> None:
    """`python -m loadtest.load.signin --users N`: the load test's users in the pool the environment
    names, with IMGPIPE_LOADTEST_PASSWORD (for locust workers on several machines)."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.load.signin", description=main.__doc__)
    parser.add_argument("--users", type=int, required=True, help="locust users in all (-u)")
    parser.add_argument("--processes", type=int, default=1, help="locust worker processes in all")
    args = parser.parse_args(argv)
    if missing := [name for name in (POOL, CLIENT, PASSWORD) if not os.environ.get(name)]:
        parser.error(f"set {', '.join(missing)}")
    if args.users < 1 or args.processes < 1:
        parser.error("--users and --processes must be above 0")
    aws_users(os.environ, args.users, args.processes, print)


if __name__ == "__main__":
    main()
