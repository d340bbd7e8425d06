"""The load test's users sign in against a real Cognito user pool (the moto server's): on AWS the
runner creates them with the run's password first; locally each signs in to the stack's pool."""

from __future__ import annotations

import pytest

from deploy.client import password_sign_in
from deploy.local.cognito import provision_user_pool
from deploy.local.endpoint import EndpointSession
from deploy.local.motoserver import MotoServer
from loadtest.load import signin
from tests.integration.front_door_support import unverified

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_client() -> None:
    # the module keeps one Cognito client per process; each test's endpoint is its own
    signin._client.cache_clear()


def test_the_runner_makes_each_user_with_the_runs_password_and_resets_it_next_run(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a user pool with an app client that allows USER_PASSWORD_AUTH, as envs/dev's does
    moto_server.reset()
    cognito = EndpointSession(moto_server).client("cognito-idp")
    pool = provision_user_pool(cognito, moto_server.endpoint, "lt")
    env = {signin.POOL: pool.pool_id, signin.CLIENT: pool.client_id, "AWS_REGION": pool.region}
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    # When the runner prepares 5 users over 2 locust processes, then a later run does it again
    first = signin.aws_users(env, users=5, processes=2, say=lambda line: None)
    second = signin.aws_users(env, users=5, processes=2, say=lambda line: None)
    # Then there are six users (each process numbers its own, every second one), each signing in
    # with the latest run's password only
    assert first[signin.PASSWORD] != second[signin.PASSWORD]
    names = [signin.user_name(n) for n in range(6)]
    token, lives = password_sign_in(cognito, pool.client_id, names[-1], second[signin.PASSWORD])
    assert lives > 0 and unverified(token)["username"] == "loadtest-5"
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        password_sign_in(cognito, pool.client_id, names[0], first[signin.PASSWORD])


def test_a_local_user_is_made_on_first_sign_in_with_a_sub_of_its_own(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack's pool, named by the variables the stack exports
    moto_server.reset()
    cognito = EndpointSession(moto_server).client("cognito-idp")
    pool = provision_user_pool(cognito, moto_server.endpoint, "lt")
    for name, value in moto_server.environment().items():
        monkeypatch.setenv(name, value)
    env = {**moto_server.environment(), signin.POOL: pool.pool_id, signin.CLIENT: pool.client_id}
    # When two load-test users sign in for the first time
    tokens = [signin.token_source(env, "local", signin.user_name(n))() for n in (0, 1)]
    # Then each gets an access token of the pool's app client, with a sub of its own
    claims = [unverified(token) for token in tokens]
    assert {c["client_id"] for c in claims} == {pool.client_id}
    assert claims[0]["sub"] != claims[1]["sub"]
