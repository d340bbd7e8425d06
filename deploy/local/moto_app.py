"""`python -m deploy.local.moto_app`: moto's own server, with its SQS receive made linear.

Moto checks every message it hands out against the queue's retention period by calling its
own `get_queue_attributes`, which builds every attribute of the queue, three scans of all its
messages with two clock reads per message, twice. A receive of 10 from a queue holding 1,000
messages therefore reads the clock about 120,000 times, under the GIL, while every other
request waits; each scan's clock read also builds two datetimes. In a 1,000-image burst that
was about 45% of the server's CPU (py-spy --gil), and the server is the local stack's
bottleneck. The patches compute the same answers directly: the retention check reads the one
attribute it needs, and SQS's clock is `time.time()` (what moto's datetime arithmetic amounts
to). Every request also lists moto's package folder (about 150 `isdir` calls) to find its
service; the list is read once instead. Nothing else changes; `tests/unit/test_moto_app.py`
holds each against moto's own. Werkzeug's line per request is dropped: the output goes nowhere.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime

from moto import backends, server
from moto.core.utils import unix_time as _moto_unix_time
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
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    """Run moto's server (same arguments as `python -m moto.server`) with the patches."""
    patch()
    server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
