"""The local front door runs several execution environments, each a process of its own serving the
one socket (one invocation at a time in each, as in Lambda): requests at once are served side by
side, by different processes, and the door is alive only while all of them are."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy.local.cognito import UserPool
from deploy.local.front_door.process import FrontDoorProcess, reserve
from tests.integration.front_door_sleepy import HOLD_S

pytestmark = pytest.mark.integration

SLEEPY = "tests.integration.front_door_sleepy.handler"
POOL = UserPool("us-east-1_test", "client", "us-east-1", "http://127.0.0.1:9")  # no token is checked here


@pytest.fixture
def door() -> Iterator[FrontDoorProcess]:
    front = FrontDoorProcess(reserve(None), POOL, handler=SLEEPY, environments=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPIPE_")}
    front.start(env)
    try:
        yield front
    finally:
        front.stop()


def _openapi(door: FrontDoorProcess) -> int:
    # the one route without the JWT authorizer: the function is called with no token
    with urllib.request.urlopen(f"{door.url}/v1/openapi.json", timeout=10) as response:
        return int(json.loads(response.read())["pid"])


def test_requests_at_once_are_served_side_by_side_by_different_processes(door: FrontDoorProcess) -> None:
    _openapi(door)  # both environments past their cold start
    _openapi(door)
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        pids = list(pool.map(lambda _: _openapi(door), range(2)))
    assert time.monotonic() - started < 1.8 * HOLD_S
    assert len(set(pids)) == 2


def test_the_door_is_down_when_one_of_its_processes_is(door: FrontDoorProcess) -> None:
    assert door.running()
    door._others[0].kill()
    door._others[0].wait()
    assert not door.running()
