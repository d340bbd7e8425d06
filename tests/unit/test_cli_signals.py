"""Commands that wait take Ctrl-C and SIGTERM as a stop however they were started: a shell starts
background jobs with SIGINT ignored (`imgpipe demo &` in a script, some CI runners), and Python
keeps an inherited SIG_IGN unless the command restores the default handler."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.cli.common import stop_on_signals
from deploy.local import consumer
from deploy.local import demo as demo_run
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no IMGPIPE_* from the machine)
    invoke,
    write_photo,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    """This process as a background job of a script starts it: SIGINT ignored (both put back after)."""
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@pytest.mark.usefixtures("sigint_ignored")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_waiting_command_is_interrupted_by_either_signal(stop: signal.Signals) -> None:
    # Given a command that waits, started with SIGINT ignored
    stop_on_signals()
    # When it is sent Ctrl-C (or SIGTERM)
    # Then it is interrupted, so its `finally` blocks stop what it started
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), stop)  # to itself: handled before the next statement


@pytest.mark.usefixtures("sigint_ignored")
def test_the_demo_takes_ctrl_c_before_it_starts_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the demo started with SIGINT ignored (its stack faked: the handler it runs under is the point)
    seen: dict[str, Any] = {}

    def run(*args: Any, **kwargs: Any) -> None:
        seen["sigint"] = signal.getsignal(signal.SIGINT)
        raise demo_run.DemoError("stopped here")

    monkeypatch.setattr(demo_run, "run", run)
    (tmp_path / "photos").mkdir()
    write_photo(tmp_path / "photos" / "a.jpg")
    # When it runs
    result = invoke("demo", "photos", "--out", "out")
    # Then its stack runs with Ctrl-C taken as a stop
    assert_failure(result, 1, "stopped here")
    assert seen["sigint"] is signal.default_int_handler


@pytest.mark.usefixtures("sigint_ignored")
def test_the_worker_stops_after_its_batch_on_ctrl_c_even_if_started_with_it_ignored() -> None:
    # Given the worker's stop request, wired to the signals while it polls
    stopped = threading.Event()
    with consumer._stopped_by_signals(stopped.set):
        # When Ctrl-C arrives
        os.kill(os.getpid(), signal.SIGINT)
    # Then a stop was asked for, and SIGINT is ignored again afterwards, as it was
    assert stopped.is_set()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
