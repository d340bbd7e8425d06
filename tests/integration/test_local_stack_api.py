"""The local stack runs the front door as one of its processes: on its own port, with the API
function's configuration, reported by name when it dies, stopped with the rest; a busy API port
is refused before anything starts."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deploy import cli
from deploy.local.cognito import sign_in
from deploy.local.front_door import FrontDoorError
from deploy.local.front_door.process import reserve
from deploy.local.motoserver import HOST, port_in_use
from deploy.local.stack import LocalStack
from tests.integration.front_door_support import ECHO

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def no_machine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "IMGPIPE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IMGPIPE_MAX_BYTES", "5000000")


def test_the_stack_serves_the_api_with_the_functions_configuration_and_reports_its_death(
    tmp_path: Path,
) -> None:
    # Given a local stack whose API function is the echo handler
    with LocalStack(workers=1, log_dir=tmp_path / "logs", api_handler=ECHO) as stack:
        env = stack.environment()
        token = sign_in(stack.session.client("cognito-idp"), stack.user_pool, "alice").access_token
        # When a signed-in user calls the API at the URL the stack exports
        request = urllib.request.Request(
            f"{env['IMGPIPE_API_URL']}/v1/images", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            seen = json.loads(response.read())
        # Then the function ran with the stack's buckets and endpoint and the user's limits
        assert seen["environment"] == {
            "IMGPIPE_INPUT_BUCKET": stack.topology.input_bucket,
            "IMGPIPE_OUTPUT_BUCKET": stack.topology.output_bucket,
            "IMGPIPE_MAX_BYTES": "5000000",
            "IMGPIPE_CORS_ORIGINS": None,
            "AWS_ENDPOINT_URL": stack.server.endpoint,
            "AWS_REGION": stack.server.region,
            "AWS_ACCESS_KEY_ID": "testing",
        }
        assert env["IMGPIPE_USER_POOL_ID"] == stack.user_pool.pool_id
        assert env["IMGPIPE_USER_POOL_CLIENT_ID"] == stack.user_pool.client_id
        # When the front door dies
        door = stack.front_door
        assert door is not None and door.pid is not None and stack.alive()
        os.kill(door.pid, signal.SIGKILL)
        door._process.wait()  # type: ignore[union-attr]
        # Then the stack is not alive, and says which process went
        assert not stack.alive()
        assert stack.failure().startswith(f"the API front door on {door.url} exited")
    assert not port_in_use(door.port)


def test_a_busy_api_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        busy = taken.getsockname()[1]
        stack = LocalStack(workers=1, api_port=busy, log_dir=tmp_path / "logs")
        with pytest.raises(FrontDoorError, match=f"port {busy} is already in use.*--api-port"):
            stack.start()
        assert not hasattr(stack, "server") and stack.front_door is None
        # and `imgpipe local up` says it in one line
        result = CliRunner().invoke(cli.app, ["local", "up", "--port", "0", "--api-port", str(busy)])
    assert result.exit_code == 1
    assert "--api-port N or IMGPIPE_LOCAL_API_PORT=N" in " ".join(result.stderr.split())


def test_the_default_api_port_gives_way_to_whatever_holds_it() -> None:
    # Given the port beside moto's taken by something else (not asked for by the user)
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        busy = taken.getsockname()[1]
        # When the API's port is reserved with a fallback, then it is another free one
        with reserve(busy, fallback=True) as listener:
            assert listener.getsockname()[1] != busy
        # and without one, the port is refused
        with pytest.raises(FrontDoorError, match=f"port {busy} is already in use"):
            reserve(busy)
