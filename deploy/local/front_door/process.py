"""The front door as the local stack runs it: a process of its own beside the moto server and the
workers, started after the user pool exists and stopped with the stack.

Its port is taken first (`reserve`), before the moto server starts, and the door serves on that
very socket (passed down to it): a port free when the stack was asked for it cannot be taken by
anything in between, the stack's own connections to the server included (on Linux a connection's
ephemeral port is often the one after the port the kernel handed out last).

The door runs the function in `environments` worker processes of its own (`environments.py`), as
the API function runs several invocations at once on AWS: one client's polling then never holds
every other client's request (docs/fairness.md measured a burst's pollers holding small tenants'
form requests up to 0.75 s at p95 with one). They are its children, in its process group, and stop
with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.cognito import UserPool
from deploy.local.front_door.environments import ENVIRONMENTS
from deploy.local.motoserver import HOST, terminate

API_HANDLER = "worker.api.handler.handler"
DEFAULT_API_PORT = 4581  # beside moto's 4580: `imgpipe local up --api-port`
API_PORT_VARIABLE = "IMGPIPE_LOCAL_API_PORT"
BACKLOG = 128


class FrontDoorError(RuntimeError):
    """The front door did not start."""


def reserve(port: int | None, fallback: bool = False) -> socket.socket:
    """A listening socket on `port` (None: any free one); with `fallback`, any free one when `port`
    is taken. `FrontDoorError` naming the port and how to choose another when it is taken."""
    listener = socket.socket()
    # As servers bind: connections lingering in TIME_WAIT do not make the port "in use".
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((HOST, port or 0))
        listener.listen(BACKLOG)
    except OSError as exc:
        listener.close()
        if fallback and port:
            return reserve(None)
        raise FrontDoorError(busy(port or 0)) from exc
    return listener


@dataclass
class FrontDoorProcess:
    """`python -m deploy.local.front_door` serving on `listener` for `pool`'s tokens, calling `handler`."""

    listener: socket.socket
    pool: UserPool
    handler: str = API_HANDLER
    log: Path | None = None
    environments: int = ENVIRONMENTS
    port: int = field(init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.port = int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        """The API's base URL, for IMGPIPE_API_URL."""
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        """The process's command line (the JWKS URL names the moto server's port, the rest its own)."""
        return [
            sys.executable, "-m", "deploy.local.front_door", "--host", HOST, "--port", str(self.port),
            "--fd", str(self.listener.fileno()), "--handler", self.handler, "--issuer", self.pool.issuer,
            "--audience", self.pool.client_id, "--jwks-url", self.pool.jwks_url,
            "--environments", str(max(1, self.environments)),
        ]  # fmt: skip

    def start(self, env: Mapping[str, str], timeout_s: float = 20.0) -> FrontDoorProcess:
        """Launch it on the reserved socket and wait until it answers HTTP."""
        sink = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                self.command(),
                env=dict(env),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its environments join its group: `stop` ends them all
                pass_fds=(self.listener.fileno(),),
            )
        finally:
            self.listener.close()  # the child holds its own copy
            if self.log is not None:
                sink.close()  # type: ignore[union-attr]  # likewise
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                where = f"; see {self.log}" if self.log else ""
                raise FrontDoorError(f"the API front door exited with code {self._code()}{where}")
            if self._answers():
                return self
        self.stop()
        raise FrontDoorError(f"the API front door did not answer on {self.url} within {timeout_s:.0f}s")

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        """True while the door is alive (it replaces an environment that dies)."""
        return self._process is not None and self._process.poll() is None

    def _code(self) -> int | None:
        return self._process.poll() if self._process is not None else None

    def _answers(self) -> bool:
        # The socket takes connections from the start; serving them is what says the door is up.
        try:
            with urllib.request.urlopen(f"{self.url}/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # its 404 for a path with no route
        except OSError:
            time.sleep(0.05)
            return False

    def stop(self) -> None:
        """SIGTERM it (it closes its socket and stops its environments), SIGKILL if it lingers; then
        SIGKILL whatever of its group is left (an environment a killed door could not stop)."""
        if self._process is not None:
            terminate(self._process)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        self._process = None
        self.listener.close()


def busy(port: int) -> str:
    """The one-line reason for an API port something else holds."""
    return (
        f"port {port} is already in use on {HOST} (another `imgpipe local up`?); stop what listens"
        f" there, or choose another API port: --api-port N or {API_PORT_VARIABLE}=N (0: any free one)"
    )
