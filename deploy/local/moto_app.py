"""`python -m deploy.local.moto_app`: moto's own server application, with its SQS receive made
linear, served over keep-alive connections.

Moto checks every message it hands out against the queue's retention period by calling its
own `get_queue_attributes`, which builds every attribute of the queue, three scans of all its
messages with two clock reads per message, twice. A receive of 10 from a queue holding 1,000
messages therefore reads the clock about 120,000 times, under the GIL, while every other
request waits; each scan's clock read also builds two datetimes. In a 1,000-image burst that
was about 45% of the server's CPU (py-spy --gil), and the server is the local stack's
bottleneck. The patches compute the same answers directly: the retention check reads the one
attribute it needs, and SQS's clock is `time.time()` (what moto's datetime arithmetic amounts
to). Every request also lists moto's package folder (about 150 `isdir` calls) to find its
service; the list is read once instead. A listing by prefix read every key of the bucket
(each through two Python calls), where S3 reads only the keys under the prefix: in a run of
three 1,000-photo bursts each status poll of a pending image (its upload found by prefix) took
0.9 ms for 3,000 keys; the patch hands moto's listing only the keys under the prefix, picked
from the key names alone. Nothing else changes; `tests/unit/test_moto_app.py` holds each
against moto's own.

`python -m moto.server` serves the application with werkzeug's development server, which closes
the connection after every response (`Connection: close`, always): every request of every client
opened a TCP connection and started a thread in the server, and left a socket in TIME_WAIT (751
after 600 API calls). Served here by cheroot (CherryPy's production WSGI server) instead: clients
keep their connections, a fixed pool of threads serves them. Side by side on this machine, moto's
CPU per small request (a loop of seven S3 and SQS calls through boto3) fell from
1.71-1.78 ms to 1.35 ms, the client's from 1.23-1.28 to 1.15 ms; 3 MB bodies cost about a tenth
more (8.0-8.75 ms against 7.5-7.75 ms a request). The application, its routing and its backends
are moto's own; werkzeug's server also kept the original spelling of header names with an
underscore (S3 metadata such as `x-amz-meta-my_key`), which WSGI folds into the dashed name: no
imgpipe metadata key has one.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

from cheroot import wsgi
from moto import backends
from moto.core.utils import unix_time as _moto_unix_time
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import FakeBucket, FakeTableStorageBucket, S3Backend
from moto.sqs import models as sqs_models
from moto.sqs.models import Message, SQSBackend


def unix_time(dt: datetime | None = None) -> float:
    """moto's `unix_time`, without building two datetimes when it is asked for now."""
    return time.time() if dt is None else float(_moto_unix_time(dt))


def unix_time_millis(dt: datetime | None = None) -> float:
    """moto's `unix_time_millis`, likewise."""
    return unix_time(dt) * 1000.0


def retained(backend: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's retention check, reading the queue's retention period instead of every attribute."""
    # moto sets a queue's attributes by name at run time, and declares a message's sent_timestamp
    # None until it is sent (as every message on a queue has been): its own check ignores both too.
    period = int(backend.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(period + message.sent_timestamp / 1000 > time.time())  # type: ignore[operator]


_moto_list_objects = S3Backend.list_objects


class _Under:
    """A bucket seen through one prefix: its `keys` are those under the prefix, anything else
    moto's listing reads (today nothing) is the bucket's own."""

    def __init__(self, bucket: FakeBucket, keys: dict[str, Any]) -> None:
        self._bucket, self.keys = bucket, keys

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)


def list_objects(
    backend: S3Backend,
    bucket: FakeBucket,
    prefix: str | None,
    delimiter: str | None,
    marker: str | None,
    max_keys: int | None,
) -> Any:
    """moto's `list_objects`, given only the keys under `prefix` (each name's newest version, as
    moto's own iteration of the bucket yields them)."""
    if prefix and not isinstance(bucket, FakeTableStorageBucket):
        store = bucket.keys
        names = [name for name in list(dict.keys(store)) if name.startswith(prefix)]
        # a name deleted since the names were read is left out, not an error
        under = {name: versions[-1] for name in names if (versions := dict.get(store, name))}
        bucket = _Under(bucket, under)  # type: ignore[assignment]
    return _moto_list_objects(backend, bucket, prefix, delimiter, marker, max_keys)


_moto_modules = backends.list_of_moto_modules
_MODULES: tuple[str, ...] = ()


def list_of_moto_modules() -> tuple[str, ...]:
    """moto's service folders, listed on first use: they do not change while the server runs."""
    global _MODULES
    if not _MODULES:
        _MODULES = tuple(_moto_modules())
    return _MODULES


def patch() -> None:
    """Swap the patched functions into moto's SQS backend (idempotent)."""
    # The SQS models call the clock by the names they imported it under (moto.core.utils's,
    # which they do not re-export), so those names are what must change.
    sqs_models.unix_time = unix_time  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    # A patch by design. mypy refuses any function assigned to a method, even of its very
    # signature ("assignment" too): test_moto_app holds the verdicts against moto's own.
    SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign,assignment]
    backends.list_of_moto_modules = list_of_moto_modules
    S3Backend.list_objects = list_objects  # type: ignore[method-assign,assignment]


# Requests served at once. More do not make the server faster (one interpreter, one GIL), but each
# SQS long poll holds a thread for up to 20 s, and every poller of the local stack may hold one.
THREADS = 64
# How long an idle connection is kept: longer than any client keeps one (aiohttp 15 s, botocore's
# pool until it is used again), so a client never reuses a connection the server has just closed
# (cheroot's 10 s did that to a busy worker: "Server disconnected" on a POST no one retries).
IDLE_S = 75
KEEP_ALIVE = 1024  # idle connections kept at once (cheroot's 10 would close most clients' after each)
STOP_GRACE_S = 2.0  # what a stop waits for requests in flight before the process exits


def application() -> Callable[[dict[str, Any], Any], Any]:
    """moto's application (what `python -m moto.server` serves), given the raw request path.

    moto decodes an S3 key from `RAW_URI`, which werkzeug's server sets and cheroot does not;
    without it moto read the decoded path and decoded it again (`a%2Fb` became `a/b`, `q?x=1` was
    cut to `q`). cheroot's `REQUEST_URI` is the same raw path.
    """
    dispatcher = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ.setdefault("RAW_URI", environ.get("REQUEST_URI", ""))
        return dispatcher(environ, start_response)

    return app


def server(host: str, port: int, threads: int = THREADS) -> wsgi.Server:
    """moto's application on cheroot, at `host:port`, keeping its clients' connections."""
    os.environ.setdefault("MOTO_PORT", str(port))  # moto writes it into the queue URLs it returns
    http = wsgi.Server(
        (host, port), application(), numthreads=threads, request_queue_size=256, timeout=IDLE_S
    )
    http.keep_alive_conn_limit = KEEP_ALIVE
    return http


def main(argv: list[str] | None = None) -> None:
    """Serve moto with the patches until SIGTERM or SIGINT (`-H HOST -p PORT`, as moto.server)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.local.moto_app")
    parser.add_argument("-H", "--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("-p", "--port", type=int, default=5000, help="the port to listen on")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    patch()
    http = server(args.host, args.port)

    def stop(signum: int, frame: FrameType | None) -> None:
        # cheroot's own stop joins every thread, and a thread answering an SQS long poll holds on
        # for up to 20 s whether its client is still there or not (moto cannot tell): the state
        # is in memory only, so once in-flight requests have had a moment the process just ends.
        threading.Timer(STOP_GRACE_S, os._exit, (0,)).start()
        raise SystemExit(0)  # out of cheroot's loop: it stops accepting and stops its threads

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    http.safe_start()


if __name__ == "__main__":
    main()
