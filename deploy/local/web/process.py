"""The web server as the local stack runs it: a process of its own on a port of its own (the
page's origin, beside the API's), started once the front door is up and stopped with the stack.

Like the front door's, its port is taken first (`reserve`) and the process serves on that very
socket, so nothing the stack starts in between can take it.
"""

from __future__ import annotations

import json
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
from deploy.local.front_door.cors import ORIGINS_VARIABLE
from deploy.local.front_door.process import FrontDoorError, reserve
from deploy.local.motoserver import HOST, terminate
from deploy.local.web.page import DIST

DEFAULT_WEB_PORT = 4582  # beside moto's 4580 and the API's 4581: `imgpipe local up --web-port`
WEB_PORT_VARIABLE = "IMGPIPE_LOCAL_WEB_PORT"


class WebServerError(RuntimeError):
    """The web server did not start."""


def busy(port: int) -> str:
    """The one-line reason for a web port something else holds."""
    return (
        f"port {port} is already in use on {HOST} (another `imgpipe local up`?); stop what listens"
        f" there, or choose another web port: --web-port N or {WEB_PORT_VARIABLE}=N (0: any free one)"
    )


def reserve_web(port: int | None, fallback: bool = False) -> socket.socket:
    """A listening socket for the page (see `front_door.process.reserve`); `WebServerError` if taken."""
    try:
        return reserve(port, fallback)
    except FrontDoorError as exc:
        raise WebServerError(busy(port or 0)) from exc


def with_origin(env: Mapping[str, str], origin: str) -> dict[str, str]:
    """`env` with `origin` added to an explicit IMGPIPE_CORS_ORIGINS list, so the API answers the
    page; unset (the local default allows every port of 127.0.0.1), `*` or not a list: unchanged."""
    result = dict(env)
    raw = result.get(ORIGINS_VARIABLE, "").strip()
    if not raw:
        return result
    try:
        origins = json.loads(raw)
    except ValueError:
        return result  # refused with its reason by the stack's own check
    if isinstance(origins, list) and "*" not in origins and origin not in origins:
        result[ORIGINS_VARIABLE] = json.dumps([*origins, origin])
    return result


@dataclass
class WebServerProcess:
    """`python -m deploy.local.web` serving `root` on `listener`, started for a stack's API and pool."""

    listener: socket.socket
    root: Path = DIST
    log: Path | None = None
    port: int = field(init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.port = int(self.listener.getsockname()[1])

    @property
    def url(self) -> str:
        """The page's address (and origin, with no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    def built(self) -> bool:
        """True when the page has been built (`make web`)."""
        return (self.root / "index.html").is_file()

    def command(self, pool: UserPool, api_url: str) -> list[str]:
        """The process's command line: the page is pointed at `api_url` and signs in to `pool`."""
        return [
            sys.executable, "-m", "deploy.local.web", "--host", HOST, "--port", str(self.port),
            "--fd", str(self.listener.fileno()), "--root", str(self.root), "--api-url", api_url,
            "--pool-id", pool.pool_id, "--client-id", pool.client_id,
            "--region", pool.region, "--endpoint", pool.endpoint,
        ]  # fmt: skip

    def start(
        self, pool: UserPool, api_url: str, env: Mapping[str, str], timeout_s: float = 20.0
    ) -> WebServerProcess:
        """Launch it on the reserved socket and wait until it serves config.json."""
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
        sink = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                self.command(pool, api_url), env=dict(env), stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True, pass_fds=(self.listener.fileno(),),
            )  # fmt: skip
        finally:
            self.listener.close()  # the child holds its own copy
            if self.log is not None:
                sink.close()  # type: ignore[union-attr]  # likewise
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                where = f"; see {self.log}" if self.log else ""
                raise WebServerError(f"the web server exited with code {self._code()}{where}")
            if self._answers():
                return self
        self.stop()
        raise WebServerError(f"the web server did not answer on {self.url} within {timeout_s:.0f}s")

    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def _code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/config.json", timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
            return False

    def stop(self) -> None:
        """SIGTERM (it closes its socket), SIGKILL if it lingers."""
        terminate(self._process)
        self._process = None
        self.listener.close()
