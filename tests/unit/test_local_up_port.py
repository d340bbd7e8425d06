"""`imgpipe local up` listens on the same port every start (unless told otherwise), says so when
that port is taken and how to choose another, and says that a restart starts empty.

The stack itself is replaced by a stand-in that records how it was asked for: nothing starts,
no socket is opened.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from deploy.local import motoserver, stack, web
from deploy.local.cpu_cap import usable_cores
from deploy.local.motoserver import DEFAULT_PORT, MotoServer, MotoServerError
from tests.unit.test_cli import (
    assert_failure,
    flat,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no IMGPIPE_* from the machine)
    invoke,
)

pytestmark = pytest.mark.unit

FREE_PORT = 49152  # what the stand-in says the server got when asked for any free port


class StandInStack:
    """Records the port asked for; starts at once, then is found stopped."""

    asked: list[int | None] = []
    lanes: list[Any] = []  # the LanePlan each start was given
    bulk_cores: float | None = None  # the bulk pool's CPU ceiling it says it has (None: none)

    def __init__(self, port: int | None = None, lanes: Any = None, **_: Any) -> None:
        StandInStack.asked.append(port)
        StandInStack.lanes.append(lanes)
        self.bulk_cap = None if self.bulk_cores is None else SimpleNamespace(cores=self.bulk_cores)
        self.server = SimpleNamespace(
            port=port or FREE_PORT, endpoint=f"http://127.0.0.1:{port or FREE_PORT}"
        )

        self.user_pool = SimpleNamespace(pool_id="local_pool", client_id="local_client")

    def start(self) -> StandInStack:
        return self

    def environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.server.endpoint, "IMGPIPE_API_URL": "http://127.0.0.1:1"}

    def alive(self) -> bool:
        return False

    def failure(self) -> str:
        return "stopped by the test"

    def stop(self) -> None:
        pass


class StandInWeb:
    """The web uploader's server, started and stopped without a process or a socket."""

    url = "http://127.0.0.1:2"
    log = Path("web.log")

    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def start(self, *_: Any) -> None:
        pass

    def running(self) -> bool:
        return True

    def built(self) -> bool:
        return True

    def stop(self) -> None:
        pass


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    monkeypatch.setattr(stack, "LocalStack", StandInStack)
    monkeypatch.setattr(web, "WebServerProcess", StandInWeb)
    monkeypatch.setattr(web, "reserve_web", lambda *_: None)
    StandInStack.asked = []
    StandInStack.lanes = []
    return StandInStack.asked


def up(*args: str) -> str:
    result = invoke("local", "up", "--workers", "1", *args)
    assert_failure(result, 1, "stopped by the test")
    return flat(result.stdout)


def test_the_default_port_is_the_same_every_start_and_a_restart_is_said_to_start_empty(
    asked: list[int | None],
) -> None:
    # When the stack is started twice without a port
    first, second = up(), up()
    # Then both asked for the same fixed port, and the banner says what a restart keeps
    assert asked == [DEFAULT_PORT, DEFAULT_PORT]
    assert first == second
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{DEFAULT_PORT}" in first
    assert (
        "state is in memory only: stopping this stack discards every upload, result and DLQ message;"
        f" the next `imgpipe local up` starts empty, on port {DEFAULT_PORT} again,"
        " so these exports stay valid"
    ) in first


def test_the_port_comes_from_the_option_or_the_variable(
    asked: list[int | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMGPIPE_LOCAL_PORT", "5123")
    from_variable = up()
    from_option = up("--port", "5124")
    assert asked == [5123, 5124]
    assert "on port 5123 again" in from_variable and "on port 5124 again" in from_option


def test_port_zero_takes_any_free_port_and_says_the_next_start_will_not_be_there(
    asked: list[int | None],
) -> None:
    banner = up("--port", "0")
    assert asked == [None]
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{FREE_PORT}" in banner
    assert "starts empty, on another free port: export its lines again" in banner


def test_a_taken_port_is_one_line_naming_both_ways_to_choose_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the default port taken (as seen by the server's own check: no socket here)
    monkeypatch.setattr(motoserver, "port_in_use", lambda port: port == DEFAULT_PORT)
    with pytest.raises(MotoServerError) as refused:
        MotoServer(DEFAULT_PORT).start()
    # Then the reason names the port and how to choose another
    assert str(refused.value) == (
        f"port {DEFAULT_PORT} is already in use on 127.0.0.1 (another `imgpipe local up`?); stop what"
        " listens there, or choose another port: --port N or IMGPIPE_LOCAL_PORT=N (0: any free one)"
    )
    # And `local up` says it in that one line, having started nothing
    assert_failure(invoke("local", "up", "--workers", "1", "--logs", "logs"), 1, str(refused.value))
    assert not (tmp_path / "logs").exists()


def test_the_banner_says_the_bulk_pools_cpu_ceiling_when_there_is_one(
    asked: list[int | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "bulk lane's workers" not in up()
    monkeypatch.setattr(StandInStack, "bulk_cores", 1.0)
    assert (
        f"the bulk lane's workers use at most 1 of {usable_cores():g} cores, leaving the interactive"
        " lane room (--bulk-cpu-share, docs/fairness.md)"
    ) in up()


def test_the_bulk_pools_ceiling_is_half_the_cores_unless_given(asked: list[int | None]) -> None:
    up()
    up("--bulk-cpu-share", "0.75")
    up("--bulk-cpu-share", "0")
    assert [plan.bulk_cpu_share for plan in StandInStack.lanes] == [0.5, 0.75, None]
