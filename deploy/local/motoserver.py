"""The embedded AWS: a moto server in its own process, speaking the real wire protocol on loopback.

aioboto3 cannot use moto's in-process mock, and a separate process is also what makes the local
stack honest: the worker talks HTTP to it exactly as it would to AWS. It runs as
`deploy.local.moto_app`: moto's own application, with its SQS receive made linear in the queue
length and its listing by prefix reading only the keys under it, served by cheroot over
keep-alive connections.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from types import TracebackType

HOST = "127.0.0.1"
# `imgpipe local up` listens here unless told otherwise: the same port every start, so the export
# lines printed by the last start still reach the stack after a restart (an empty one: see
# `deploy.local.stack`). `imgpipe demo`, load tests and tests take a free port instead.
DEFAULT_PORT = 4580
PORT_VARIABLE = "IMGPIPE_LOCAL_PORT"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
COGNITO_ID_STRATEGY = {
    "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
    "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
}


class MotoServerError(RuntimeError):
    """The moto server did not start or stopped answering."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    """True when the server could not bind `port` on loopback (something else listens there)."""
    with socket.socket() as probe:
        # As the server binds: connections lingering in TIME_WAIT do not count as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def terminate(process: subprocess.Popen[bytes] | None, timeout_s: float = 5.0) -> None:
    """Stop a helper process: SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class MotoServer:
    """Start the moto server (`deploy.local.moto_app`) on loopback; stop it (and only it) on exit."""

    def __init__(self, port: int | None = None, region: str = "us-east-1") -> None:
        self.port = port or free_port()
        self.region = region
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The URL to put in AWS_ENDPOINT_URL."""
        return f"http://{HOST}:{self.port}"

    def environment(self) -> dict[str, str]:
        """The variables that point AWS SDKs (and the worker) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **CREDENTIALS,
        }

    def start(self, timeout_s: float = 20.0) -> MotoServer:
        """Launch the process and wait until it answers HTTP; a port in use is refused first."""
        if port_in_use(self.port):
            raise MotoServerError(self._busy())
        command = [sys.executable, "-m", "deploy.local.moto_app", "-H", HOST, "-p", str(self.port)]
        # Cognito ids derived from the pool's name and settings, not random: a restart on the same
        # port makes the same user pool and app client ids, so the export lines stay valid.
        env = {**os.environ, "MOTO_CALL_RESET_API": "true", **COGNITO_ID_STRATEGY}
        # Its own session: a Ctrl-C in the terminal reaches only the parent, which stops the
        # workers first and this server last, instead of everything dying at once.
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                if port_in_use(self.port):  # taken between the check and the server's bind
                    raise MotoServerError(self._busy())
                raise MotoServerError(
                    f"moto server exited with code {self._process.returncode} on port {self.port}"
                )
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise MotoServerError(f"moto server did not answer on {self.endpoint} within {timeout_s:.0f}s")

    def _busy(self) -> str:
        return (
            f"port {self.port} is already in use on {HOST} (another `imgpipe local up`?); stop what"
            f" listens there, or choose another port: --port N or {PORT_VARIABLE}=N (0: any free one)"
        )

    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def ready(self) -> bool:
        """True when the server answers its own API."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1):
                return True
        except OSError:
            return False

    def reset(self) -> None:
        """Forget every resource (between tests)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        """Terminate the process, killing it if it does not exit promptly."""
        terminate(self._process)
        self._process = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
