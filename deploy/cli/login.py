"""`imgpipe login --user NAME`: a token for the client API, for a user of the local stack.

It prints the user's Cognito access token and nothing else on stdout, so
`TOKEN=$(imgpipe login --user alice)` works; `--json` prints the whole sign-in result. The user
is created in the local pool the first time (`deploy.local.cognito`). On AWS there is nothing to
create users from: people sign in through the app or Cognito's hosted UI, so it says that instead.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from deploy.cli.common import Command, Json, aws_errors, clients, fail, say
from deploy.cli.output import print_json

POOL_VARIABLE = "IMGPIPE_USER_POOL_ID"
CLIENT_VARIABLE = "IMGPIPE_USER_POOL_CLIENT_ID"
ON_AWS = (
    "imgpipe login signs in users of the local stack only, and AWS_ENDPOINT_URL is not set: on AWS,"
    " users sign in through your app or the Cognito hosted UI with the user pool's app client"
    " (Terraform's outputs name both), and send its access token as `Authorization: Bearer TOKEN`"
)

UserName = Annotated[str, typer.Option("--user", metavar="NAME", help="the user to sign in (created if new)")]


def login(user: UserName, json_out: Json = False) -> None:
    """Sign a local user in, creating them if new, and print their access token.

    The token is what the API expects after `Authorization: Bearer `: an access token of the local
    user pool's app client, valid for an hour. --json: {"idToken", "accessToken", "refreshToken",
    "expiresIn", "sub"}; `sub` is the user's id in the API and its key prefix (uploads/{sub}/...),
    what `imgpipe upload --user` takes to import files as that user's.
    """
    from deploy.local.cognito import NoUserPool, sign_in

    endpoint = os.environ.get("AWS_ENDPOINT_URL_COGNITO_IDP") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise fail(ON_AWS, 2)
    if not user.strip():
        raise fail("--user must not be empty", 2)
    with aws_errors():
        cognito = _cognito()
        try:
            pool = _pool(cognito, endpoint)
            tokens = sign_in(cognito, pool, user)
        except NoUserPool as exc:
            raise fail(f"{exc}: is this the endpoint `imgpipe local up` printed?") from exc
        except cognito.exceptions.ResourceNotFoundException as exc:
            raise fail(
                f"{POOL_VARIABLE} / {CLIENT_VARIABLE} name no user pool and app client at {endpoint}:"
                " export the lines `imgpipe local up` printed, or unset both"
            ) from exc
    if json_out:
        attributes = cognito.admin_get_user(UserPoolId=pool.pool_id, Username=user)["UserAttributes"]
        sub = next((a["Value"] for a in attributes if a["Name"] == "sub"), None)
        return print_json(tokens.to_json() | {"sub": sub})
    say(tokens.access_token)


def _cognito() -> Any:
    """A cognito-idp client with the settings (timeouts, retries, region) every command uses."""
    import boto3

    _, sqs = clients()  # checks the AWS settings, a usage error naming the variable
    return boto3.Session(region_name=sqs.meta.region_name).client("cognito-idp", config=sqs.meta.config)


def _pool(cognito: Any, endpoint: str) -> Any:
    """The pool the exports name, or the stack's own, found by its name."""
    from deploy.local.cognito import UserPool, find_user_pool

    pool_id, client_id = os.environ.get(POOL_VARIABLE), os.environ.get(CLIENT_VARIABLE)
    if pool_id and client_id:
        return UserPool(pool_id, client_id, cognito.meta.region_name, endpoint)
    return find_user_pool(cognito, endpoint)


def register(app: typer.Typer) -> None:
    """Add `imgpipe login` to the app."""
    app.command(cls=Command)(login)
