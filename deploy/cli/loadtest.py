"""`imgpipe loadtest`: the locust load test, run as its own process.

`deploy/` may not import `loadtest/` (the operator tools must not need locust), so the command
hands its arguments to `python -m loadtest.run` unchanged: `imgpipe loadtest --help` is the
runner's own help, and its exit code (1 when an upload was lost) is this command's.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from types import FrameType

import typer

from deploy.cli.common import fail

RUNNER = "loadtest.run"
MISSING = "the load test needs locust and matplotlib: pip install 'imgpipe[load]' (make install has them)"


def loadtest(ctx: typer.Context) -> None:
    """Locust bursts through the whole pipeline, then the ledger: --help lists the options.

    Runs `python -m loadtest.run` with the same arguments, e.g. `imgpipe loadtest --scenario burst
    --images 1000 --profile full`. Exits 1 when an upload was lost or a poison file was not
    quarantined, 2 on a usage error, 130 when interrupted (everything it started is stopped).
    """
    if importlib.util.find_spec("locust") is None or importlib.util.find_spec(RUNNER) is None:
        raise fail(MISSING, 2)
    env = {**os.environ, "IMGPIPE_LOADTEST_PROG": "imgpipe loadtest"}
    raise typer.Exit(run_forwarding_signals([sys.executable, "-m", RUNNER, *ctx.args], env))


def run_forwarding_signals(command: list[str], env: dict[str, str]) -> int:
    """Run `command` in a session of its own and hand it each Ctrl-C or SIGTERM exactly once, so it
    stops what it started (the runner stops its local stack) instead of being killed mid-way.

    The handlers go in before the child starts: a caught signal is reset to its default in the
    child, so it takes the forwarded Ctrl-C even when this process was started with SIGINT
    ignored (a background job of a script), which it would otherwise inherit.
    """
    child: subprocess.Popen[bytes] | None = None
    early: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        if child is None:
            early.append(signum)  # arrived before the child did: it gets it once it exists
        else:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        child = subprocess.Popen(command, env=env, start_new_session=True)
        for signum in early:
            child.send_signal(signum)
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def register(app: typer.Typer) -> None:
    """Add `imgpipe loadtest` to the app; every argument, --help included, goes to the runner."""
    app.command(
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )(loadtest)
