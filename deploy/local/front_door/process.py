"""The front door as the local stack runs it: a process of its own beside the moto server and the
workers, started after the user pool exists and stopped with the stack."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.cognito import UserPool
from deploy.local.motoserver import HOST, port_in_use, terminate

API_HANDLER = "worker.api.handler.handler"
DEFAULT_API_PORT = 4581  # beside moto's 4580: `imgpipe local up --api-port`
API_PORT_VARIABLE = "IMGPIPE_LOCAL_API_PORT"


class FrontDoorError(RuntimeError):
    """The front door did not start."""


@dataclass
class FrontDoorProcess:
    """`python -m deploy.local.front_door` on `port` for `pool`'s tokens, calling `handler`."""

    port: int
    pool: UserPool
    handler: str = API_HANDLER
    log: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """The API's base URL, for IMGPIPE_API_URL."""
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        """The process's command line (the JWKS URL names the moto server's port, the rest its own)."""
        return [
            sys.executable, "-m", "deploy.local.front_door", "--host", HOST, "--port", str(self.port),
            "--handler", self.handler, "--issuer", self.pool.issuer, "--audience", self.pool.client_id,
            "--jwks-url", self.pool.jwks_url,
        ]  # fmt: skip

    def start(self, env: Mapping[str, str], timeout_s: float = 20.0) -> FrontDoorProcess:
        """Launch it and wait until it accepts connections; a port in use is refused first."""
        if port_in_use(self.port):
            raise FrontDoorError(busy(self.port))
        sink = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                self.command(), env=dict(env), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if self.log is not None:
                sink.close()  # type: ignore[union-attr]  # the child holds its own copy
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                where = f"; see {self.log}" if self.log else ""
                raise FrontDoorError(f"the API front door exited with code {self._code()}{where}")
            if self._accepts():
                return self
            time.sleep(0.05)
        self.stop()
        raise FrontDoorError(f"the API front door did not listen on {self.url} within {timeout_s:.0f}s")

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def _code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM (it closes its socket), SIGKILL if it lingers."""
        terminate(self._process)
        self._process = None


def busy(port: int) -> str:
    """The one-line reason for an API port something else holds."""
    return (
        f"port {port} is already in use on {HOST} (another `imgpipe local up`?); stop what listens"
        f" there, or choose another API port: --api-port N or {API_PORT_VARIABLE}=N (0: any free one)"
    )
