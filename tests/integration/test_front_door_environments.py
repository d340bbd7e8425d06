"""The local front door runs several execution environments, each a process of its own serving the
one socket (one invocation at a time in each, as in Lambda): requests at once are served side by
side, by different processes; one that dies is replaced; stopping the door stops them all."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deploy.local.cognito import UserPool
from deploy.local.front_door.process import FrontDoorProcess, reserve

pytestmark = pytest.mark.integration

SLEEPY = "tests.integration.front_door_sleepy.handler"
POOL = UserPool("us-east-1_test", "client", "us-east-1", "http://127.0.0.1:9")  # no token is checked here


@pytest.fixture
def door(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FrontDoorProcess]:
    environments = getattr(request, "param", 2)
    front = FrontDoorProcess(reserve(None), POOL, handler=SLEEPY, environments=environments)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPIPE_")}
    env["SLEEPY_MEETING"] = str(tmp_path)
    front.start(env)
    try:
        yield front
    finally:
        front.stop()


def _openapi(door: FrontDoorProcess, meeting: str, until: int = 2) -> tuple[int, int]:
    """Which process answered, and how many invocations its invocation met in `meeting`."""
    # the one route without the JWT authorizer: the function is called with no token
    url = f"{door.url}/v1/openapi.json?meeting={meeting}&until={until}"
    with urllib.request.urlopen(url, timeout=60) as response:
        answer = json.loads(response.read())
    return int(answer["pid"]), int(answer["met"])


def _pair(door: FrontDoorProcess, meeting: str, requests: int = 2) -> list[tuple[int, int]]:
    """`requests` requests at once, each waiting in `meeting` until all have started."""
    with ThreadPoolExecutor(requests) as pool:
        return list(pool.map(lambda _: _openapi(door, meeting, requests), range(requests)))


def test_requests_at_once_are_served_side_by_side_by_different_processes(door: FrontDoorProcess) -> None:
    # When two requests arrive at once, each invocation waiting until it sees the other's start
    (pid_a, met_a), (pid_b, met_b) = _pair(door, "first")
    # Then two processes served them, and each ran while the other did: one environment serving
    # both in turn would leave the first alone until MEET_S passed
    assert pid_a != pid_b
    assert (met_a, met_b) == (2, 2)


@pytest.mark.parametrize("door", [3], indirect=True)
def test_more_environments_start_when_every_warm_one_is_busy(door: FrontDoorProcess) -> None:
    # When three requests arrive at once at a door of three environments (two started warm)
    answers = _pair(door, "three", requests=3)
    # Then a third environment started, and all three ran at the same time
    assert len({pid for pid, _ in answers}) == 3
    assert [met for _, met in answers] == [3, 3, 3]


def test_an_environment_that_dies_is_replaced_and_the_door_serves_on(door: FrontDoorProcess) -> None:
    # Given two environments that have served requests at once
    first = {pid for pid, _ in _pair(door, "before")}
    # When one of them is killed while idle
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    # Then the door stays up, and requests at once are again served side by side, by two
    # environments that are alive (the dead one replaced)
    answers = _pair(door, "after")
    assert door.running()
    assert [met for _, met in answers] == [2, 2]
    assert victim not in {pid for pid, _ in answers}
    assert len({pid for pid, _ in answers}) == 2


def test_stopping_the_door_stops_its_environments(door: FrontDoorProcess) -> None:
    # Given the environments' process ids
    pids = {pid for pid, _ in _pair(door, "pids")}
    # When the door is stopped, then none of them is left
    door.stop()
    assert not door.running()
    assert _left(pids) == set()


def _left(pids: set[int], within_s: float = 10.0) -> set[int]:
    """Those of `pids` still running after `within_s` (a killed process takes a moment to go)."""
    deadline = time.monotonic() + within_s
    while (running := {pid for pid in pids if _running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has ended, only not yet been reaped
