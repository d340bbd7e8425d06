"""What the load and chaos runners share around locust: its headless command line, bounded by
count and by time, and an exit that stops everything a run started on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import NoReturn

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def locust_command(
    out: Path,
    payload_dir: Path,
    ledger_path: Path,
    *,
    users: int,
    images: int,
    max_seconds: float,
    drain_timeout: float,
    rate: float = 0.0,
    processes: int = 1,
    batch: int = 0,
    target: str = "local",
) -> list[str]:
    """locust's own headless runner, bounded by count (the locustfile stops itself) and by time;
    `rate` 0 uploads as fast as the users can; `batch` files per batch call (0: one call a file)."""
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", str(users), "-r", str(users), "--run-time", f"{max_seconds}s",
        "--stop-timeout", "10", "--exit-code-on-error", "0",
        "--csv", str(out / "locust"), "--html", str(out / "locust.html"),
        "--payloads", str(payload_dir), "--images", str(images), "--rate", str(rate),
        "--drain-timeout", str(drain_timeout), "--ledger", str(ledger_path),
        "--batch", str(batch), "--target", target,
        *(["--processes", str(processes), "--uploaders", str(processes)] if processes > 1 else []),
    ]  # fmt: skip


def run_to_exit(name: str, body: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> NoReturn:
    """Run `body(args)` and exit with its code; Ctrl-C or SIGTERM unwinds it (so whatever it
    started is stopped on the way out) and exits 130."""
    started = time.monotonic()
    stop_on_signals()
    try:
        code = body(args)
    except KeyboardInterrupt:
        print(f"{name}: interrupted: everything this run started is stopped; no ledger", file=sys.stderr)
        raise SystemExit(130) from None
    print(f"{name}: finished in {time.monotonic() - started:.0f}s", file=sys.stderr)
    raise SystemExit(code)


def stop_on_signals() -> None:
    """SIGTERM (from `timeout`, CI, `imgpipe loadtest`) unwinds like Ctrl-C, so the local stack is
    stopped on the way out; a second signal while stopping is ignored instead of cutting it short."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
