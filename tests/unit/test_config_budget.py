"""A record budget that does not fit the function timeout is refused the same way everywhere.

The worker's settings, the CLI's `--timeout` and Terraform all apply one rule: a record is
started only with its budget plus the worker's safety margin left, so a timeout shorter than that
would start no record, ever.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deploy.local.consumer import TimeoutTooShort, check_timeout
from deploy.local.stack import LocalStack
from deploy.local.topology import QueueSettings
from shared.errors import ConfigError
from shared.settings import SAFETY_S, load_timing
from worker import deadline

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def no_imgpipe_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("IMGPIPE_"):
            monkeypatch.delenv(name)


def test_shared_margin_is_the_workers_margin() -> None:
    # shared/ cannot import worker/, so the constant is repeated there; this keeps them equal.
    assert SAFETY_S == deadline.SAFETY_S


@pytest.mark.parametrize(
    ("budget_ms", "timeout_s", "fits"),
    [(15_000, 15.5, True), (15_000, 15.49, False), (15_000, 60, True), (500, 1, True), (1_000, 1, False)],
)
def test_check_timeout_refuses_exactly_what_does_not_fit(
    monkeypatch: pytest.MonkeyPatch, budget_ms: int, timeout_s: float, fits: bool
) -> None:
    # Given the budget the workers will read
    monkeypatch.setenv("IMGPIPE_RECORD_BUDGET_MS", str(budget_ms))
    # When a timeout is checked, then it passes only when budget + margin fit
    if fits:
        check_timeout(timeout_s)
    else:
        with pytest.raises(TimeoutTooShort, match=f"--timeout {timeout_s:g} .*IMGPIPE_RECORD_BUDGET_MS"):
            check_timeout(timeout_s)


def test_a_timeout_set_in_the_environment_does_not_override_the_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stale IMGPIPE_FUNCTION_TIMEOUT_S that the budget would not fit
    monkeypatch.setenv("IMGPIPE_FUNCTION_TIMEOUT_S", "2")
    # Then only --timeout is checked (the consumer replaces the variable with it)
    check_timeout(60)


def test_local_stack_refuses_before_starting_anything() -> None:
    # Given workers with a 10 s timeout and the default 15 s budget
    stack = LocalStack(queue=QueueSettings.for_timeout(10), workers=1)
    # When the stack is started, then it is refused and no server or worker was started
    with pytest.raises(TimeoutTooShort, match="--timeout 10 .*IMGPIPE_RECORD_BUDGET_MS=15000"):
        stack.start()
    assert not hasattr(stack, "server")
    assert not stack._processes


@given(budget_ms=st.integers(100, 900_000), timeout_s=st.floats(1, 900))
def test_cold_start_cli_and_terraform_draw_the_line_in_one_place(budget_ms: int, timeout_s: float) -> None:
    # Given any budget and timeout in range, when each of the three checks is asked
    cold_start = _refuses(lambda: load_timing(record_budget_ms=budget_ms, function_timeout_s=timeout_s))
    with mock.patch.dict(os.environ, {"IMGPIPE_RECORD_BUDGET_MS": str(budget_ms)}):
        cli = _refuses(lambda: check_timeout(timeout_s))
    terraform = not (budget_ms / 1000 + SAFETY_S <= timeout_s)  # the variable's validation condition
    # Then they agree
    assert cold_start == cli == terraform


def _refuses(check: Callable[[], object]) -> bool:
    try:
        check()
    except ConfigError:
        return True
    return False
