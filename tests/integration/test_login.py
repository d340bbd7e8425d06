"""`imgpipe login --user NAME` against a user pool on the moto server: a token on stdout, alone, that
the front door accepts; the same user on every login; one-line reasons when there is no stack or
no pool to sign in to."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from deploy import cli
from deploy.local.motoserver import MotoServer, free_port
from tests.integration import front_door_echo as echo
from tests.integration.front_door_support import Door, serving, unverified

pytestmark = pytest.mark.integration

runner = CliRunner()


def login(*args: str) -> Result:
    return runner.invoke(cli.app, ["login", *args], prog_name="imgpipe")


@pytest.fixture
def environment(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The export lines of a local stack on the test's server, and nothing from the machine."""
    moto_server.reset()
    for name in list(os.environ):
        if name.startswith(("AWS_", "IMGPIPE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def door(moto_server: MotoServer, environment: None) -> Iterator[Door]:
    """The stack's own pool (the `imgpipe-` one login looks for) behind a front door."""
    echo.CALLS.clear()
    with serving(moto_server, prefix="imgpipe") as running:
        yield running


def assert_one_line_failure(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("imgpipe: ")
    for needle in needles:
        assert needle in line


def test_login_prints_only_an_access_token_the_door_accepts(door: Door) -> None:
    # When alice logs in for the first time
    result = login("--user", "alice")
    # Then stdout is the token and a newline, so TOKEN=$(imgpipe login --user alice) works
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and result.stderr == ""
    claims = unverified(token)
    assert (claims["token_use"], claims["client_id"], claims["username"]) == (
        "access",
        door.pool.client_id,
        "alice",
    )
    # and the front door lets it through to the function
    reply = door.call("GET", "/v1/images", token)
    assert reply.status == 200
    assert reply.json()["claims"]["sub"] == claims["sub"]


def test_the_same_user_signs_in_again_as_the_same_sub(door: Door) -> None:
    first, second = login("--user", "alice"), login("--user", "alice")
    bob = login("--user", "bob")
    subs = [unverified(r.stdout.strip())["sub"] for r in (first, second, bob)]
    assert subs[0] == subs[1] != subs[2]


def test_json_gives_the_whole_sign_in_result(door: Door) -> None:
    result = login("--user", "alice", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"idToken", "accessToken", "refreshToken", "expiresIn", "sub"}
    assert document["expiresIn"] == 3600
    assert unverified(document["idToken"])["aud"] == door.pool.client_id
    # the sub is the user's id in the API: what `imgpipe upload --user` takes to import as them
    assert document["sub"] == unverified(document["accessToken"])["sub"]
    assert door.call("GET", "/v1/images", document["idToken"]).status == 200


def test_a_user_made_elsewhere_with_another_password_still_gets_a_token(door: Door) -> None:
    # Given carol, created by someone else with a password login does not know
    door.cognito.admin_create_user(UserPoolId=door.pool.pool_id, Username="carol", MessageAction="SUPPRESS")
    door.cognito.admin_set_user_password(
        UserPoolId=door.pool.pool_id, Username="carol", Password="Other-Passw0rd!", Permanent=True
    )
    # When she logs in, then she gets her token (the local password wins)
    result = login("--user", "carol")
    assert result.exit_code == 0, result.output
    assert unverified(result.stdout.strip())["username"] == "carol"


def test_the_exported_pool_and_client_are_used(door: Door, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_USER_POOL_ID", door.pool.pool_id)
    monkeypatch.setenv("IMGPIPE_USER_POOL_CLIENT_ID", door.pool.client_id)
    assert login("--user", "alice").exit_code == 0
    monkeypatch.setenv("IMGPIPE_USER_POOL_ID", "us-east-1_gone")
    assert_one_line_failure(login("--user", "alice"), 1, "IMGPIPE_USER_POOL_ID", "export the lines")


def test_an_endpoint_without_the_pool_says_so(environment: None) -> None:
    # Given a moto server with no user pool (not a stack `imgpipe local up` made)
    result = login("--user", "alice")
    assert_one_line_failure(result, 1, "no user pool named imgpipe-users", "imgpipe local up")


def test_a_stopped_stack_is_one_line_and_quick(environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    result = login("--user", "alice")
    assert_one_line_failure(result, 1, "cannot reach", "is `imgpipe local up` running?")
    assert time.monotonic() - started < 5
