"""Where the front door's invocations run: Lambda execution environments, one invocation at a time each.

API Gateway hands each request to an environment that is free, starting another up to the
function's concurrency. `Environments` does that with worker processes (each its own interpreter,
the function imported once, as Lambda's init phase does): a request goes to whichever process is
idle, so one client's slow call never holds another's while a process is free. Serving one socket
from several servers cannot promise that: a server busy with one request may have accepted the
next already (measured: both requests of a pair went to one process).

`InProcess` is one environment in the door's own process, for tests that watch the function's
calls from inside: Powertools keeps the current event on the resolver, so one invocation at a time.
An environment that dies is replaced, as Lambda replaces it: the invocation it was running fails
(500), none other does; an invocation given to one that had died idle starts in its replacement.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.process
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

from deploy.local.esm import LocalContext

log = logging.getLogger("imgpipe.front_door")

FUNCTION_NAME = "imgpipe-api"
ENVIRONMENTS = 8  # the API function's concurrency, locally: invocations at once
WARM = 2  # environments started with the door; more start (cold) when every one is busy

Handler = Callable[[dict[str, Any], Any], Any]


class EnvironmentCrashed(RuntimeError):
    """The environment running an invocation died (API Gateway answers 500)."""


class Invoker(Protocol):
    """Runs one invocation of the function and returns its answer."""

    def invoke(self, event: dict[str, Any], timeout_s: float) -> Any: ...

    def warm(self) -> None: ...

    def close(self) -> None: ...


def load_handler(path: str) -> Handler:
    """The callable at a dotted path, e.g. `worker.api.handler.handler`."""
    module, _, name = path.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


_loaded: dict[str, Handler] = {}  # per process: the function, once imported


def _handler(path: str) -> Handler:
    # A failed import is tried again on the next invocation, as Lambda retries a failed init.
    if path not in _loaded:
        _loaded[path] = load_handler(path)
    return _loaded[path]


def _init(path: str) -> None:
    try:
        _handler(path)
    except Exception:
        log.exception("cannot import the API handler %s", path)


def _run(path: str, event: dict[str, Any], timeout_s: float) -> Any:
    context = LocalContext(timeout_s, function_name=FUNCTION_NAME, aws_request_id=str(uuid.uuid4()))
    return _handler(path)(event, context)


@dataclass
class InProcess:
    """One environment in this process: invocations take turns."""

    handler_path: str
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def invoke(self, event: dict[str, Any], timeout_s: float) -> Any:
        """Run it here (the clock starts when the invocation does, not while it waits its turn)."""
        with self._lock:
            return _run(self.handler_path, event, timeout_s)

    def warm(self) -> None:
        """Import the function now; a failure is logged, not raised."""
        _init(self.handler_path)

    def close(self) -> None:
        """Nothing to stop."""


@dataclass
class _Environment:
    """One worker process and the pipe the door talks to it through."""

    process: multiprocessing.process.BaseProcess
    conn: Connection

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(timeout=5)


def _serve(path: str, conn: Connection) -> None:
    """An environment's life: import the function, then one invocation at a time until the door goes."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _init(path)
    conn.send(("ready", None))
    while True:
        try:
            event, timeout_s = conn.recv()
        except (EOFError, OSError):
            return  # the door closed its end
        conn.send(("started", None))
        try:
            answer: tuple[str, Any] = ("answer", _run(path, event, timeout_s))
        except Exception as exc:
            log.exception("the API handler raised")
            answer = ("raised", f"{type(exc).__name__}: {exc}")
        conn.send(answer)


class FunctionError(RuntimeError):
    """The function raised (its traceback is in the environment's log)."""


@dataclass
class Environments:
    """Up to `count` worker processes; each invocation runs in one that is free, in a new one (a cold
    start) when every one is busy and there are fewer than `count`, else it waits for one."""

    handler_path: str
    count: int = ENVIRONMENTS
    _idle: queue.Queue[_Environment] = field(default_factory=queue.Queue, init=False)
    _started: bool = field(default=False, init=False)
    _total: int = field(default=0, init=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, init=False)

    def invoke(self, event: dict[str, Any], timeout_s: float) -> Any:
        """Run it in a free environment: its answer, `FunctionError` if it raised, `EnvironmentCrashed`
        if the environment died while it ran."""
        self.warm()
        environment = self._free()
        try:
            environment = self._start(environment, event, timeout_s)
            kind, value = environment.conn.recv()
        except (EOFError, OSError) as exc:
            environment = self._replace(environment)
            raise EnvironmentCrashed("the API function's environment exited mid-invocation") from exc
        finally:
            self._idle.put(environment)
        if kind == "raised":
            raise FunctionError(value)
        return value

    def warm(self) -> None:
        """Start the first `WARM` environments (once), each importing the function, as Lambda's init
        phase does."""
        with self._guard:
            if self._started:
                return
            starting = [self._spawn() for _ in range(min(WARM, self.count))]
            for environment in starting:
                self._ready(environment)
                self._idle.put(environment)
            self._total, self._started = len(starting), True

    def _free(self) -> _Environment:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._guard:
            grow = self._total < self.count
            self._total += grow
        if not grow:
            return self._idle.get()
        environment = self._spawn()
        self._ready(environment)
        return environment

    def close(self) -> None:
        """Stop every idle environment (a busy one ends with the door: they are daemons)."""
        while not self._idle.empty():
            self._idle.get_nowait().stop()

    def _start(self, environment: _Environment, event: dict[str, Any], timeout_s: float) -> _Environment:
        # The invocation has started once the environment says so; one that died idle (before it
        # could) is replaced and the invocation starts in the new one.
        try:
            environment.conn.send((event, timeout_s))
            environment.conn.recv()  # ("started", None)
        except (EOFError, OSError):
            environment = self._replace(environment)
            environment.conn.send((event, timeout_s))
            environment.conn.recv()
        return environment

    def _spawn(self) -> _Environment:
        # spawn: a fresh interpreter each, never a fork of the door's threads
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(self.handler_path, theirs), daemon=True)
        process.start()
        theirs.close()
        return _Environment(process, ours)

    def _ready(self, environment: _Environment) -> None:
        try:
            environment.conn.recv()  # its ("ready", None), once the function is imported
        except (EOFError, OSError):
            log.error("an API environment exited during its init")

    def _replace(self, dead: _Environment) -> _Environment:
        log.error("an API environment exited (code %s); starting another", dead.process.exitcode)
        dead.stop()
        environment = self._spawn()
        self._ready(environment)
        return environment
