"""The front door runs up to `environments` invocations at once, each in an execution environment
of its own (its own copy of the handler's module), as the API function scales on AWS; one at a
time in each, and never more environments than that."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy.local.front_door.app import FrontDoor
from deploy.local.front_door.authorizer import JwtAuthorizer
from tests.unit import front_door_sleepy

pytestmark = pytest.mark.unit

HANDLER = "tests.unit.front_door_sleepy.handler"


def door(environments: int) -> FrontDoor:
    authorizer = JwtAuthorizer("https://issuer", ("client",), "http://127.0.0.1:9/jwks")  # never asked here
    return FrontDoor(HANDLER, authorizer, environments=environments)


def invoke_at_once(front: FrontDoor, count: int) -> tuple[list[str], float]:
    """`count` invocations at the same time: which environment answered each, and the wall time."""
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda _: front._invoke({"routeKey": "GET /v1/images"}), range(count)))
    assert [answer.status_code for answer in answers] == [200] * count
    return [json.loads(answer.get_data())["environment"] for answer in answers], time.monotonic() - started


def test_requests_at_once_run_side_by_side_each_in_its_own_environment() -> None:
    # Given a door with three environments, warmed as at its start
    front = door(3)
    front.warm()
    # When three requests come at once, then they take one invocation's time, not three
    environments, wall = invoke_at_once(front, 3)
    assert wall < 2.5 * front_door_sleepy.HOLD_S
    # and each ran in an environment of its own, the first of them the module itself
    assert len(set(environments)) == 3 and front_door_sleepy.ENVIRONMENT in environments


def test_no_more_environments_than_the_door_allows() -> None:
    # Given a door with two environments, when four requests come at once
    front = door(2)
    environments, wall = invoke_at_once(front, 4)
    # Then only two environments ever ran, two invocations at a time
    assert len(set(environments)) == 2
    assert wall >= 2 * front_door_sleepy.HOLD_S


def test_with_one_environment_invocations_take_turns() -> None:
    front = door(1)
    environments, wall = invoke_at_once(front, 2)
    assert environments == [front_door_sleepy.ENVIRONMENT] * 2
    assert wall >= 2 * front_door_sleepy.HOLD_S
