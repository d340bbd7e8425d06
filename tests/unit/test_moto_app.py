"""The moto server's patches give moto's own answers: same clock, same retention verdicts.

Moto's backend objects are used in-process here (no sockets): the functions are pure
computations over a queue, and the question is only whether the patched ones agree.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import moto
import pytest
from moto.core import utils as moto_utils
from moto.sqs import models as sqs_models
from moto.sqs.models import Queue, SQSBackend

from deploy.local import moto_app

ACCOUNT = "123456789012"


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> SQSBackend:
    # What `moto_app.patch()` swaps into moto, set to what it is now so that monkeypatch puts it
    # back after the test (the models' clock names are imported there, not exported: read by vars)
    for name in ("unix_time", "unix_time_millis"):
        monkeypatch.setattr(sqs_models, name, vars(sqs_models)[name])
    retention = SQSBackend.is_message_valid_based_on_retention_period
    monkeypatch.setattr(SQSBackend, "is_message_valid_based_on_retention_period", retention)
    return SQSBackend("us-east-1", ACCOUNT)


def _queue_with_messages(backend: SQSBackend, retention_s: int, ages_s: list[float]) -> Queue:
    backend.create_queue("q", MessageRetentionPeriod=str(retention_s))
    queue = backend.get_queue("q")
    now_ms = time.time() * 1000
    for age in ages_s:
        message = backend.send_message("q", "body")
        message.sent_timestamp = int(now_ms - age * 1000)  # type: ignore[assignment]  # moto types it None until sent
    return queue


def test_the_clock_is_motos_own() -> None:
    # Given moto's datetime clock and the patched one, read back to back
    # Then they agree, and a given datetime is converted exactly as moto does
    assert abs(moto_app.unix_time() - moto_utils.unix_time()) < 0.05
    assert abs(moto_app.unix_time_millis() - moto_utils.unix_time_millis()) < 50
    moment = datetime.datetime(2026, 12, 1, 13, 0, 0, 250000)
    assert moto_app.unix_time(moment) == moto_utils.unix_time(moment)
    assert moto_app.unix_time_millis(moment) == moto_utils.unix_time_millis(moment)


@pytest.mark.parametrize("retention_s", [60, 3600, 4 * 24 * 3600])
def test_retention_verdicts_match_motos(backend: SQSBackend, retention_s: int) -> None:
    # Given messages on both sides of the retention period (not at its edge, where the two
    # clock reads may straddle it)
    ages = [0, retention_s / 2, retention_s - 5, retention_s + 5, retention_s * 3]
    queue = _queue_with_messages(backend, retention_s, ages)
    # When moto's check and the patched one judge each message
    theirs = [backend.is_message_valid_based_on_retention_period("q", m) for m in queue._messages]
    ours = [moto_app.retained(backend, "q", m) for m in queue._messages]
    # Then they agree, and the verdicts are the expected ones
    assert ours == theirs == [True, True, True, False, False]


def test_patched_receive_hands_out_what_moto_would(backend: SQSBackend) -> None:
    # Given a queue of 30 fresh messages, received through the patched backend
    queue = _queue_with_messages(backend, 3600, [0] * 30)
    moto_app.patch()
    assert SQSBackend.is_message_valid_based_on_retention_period is moto_app.retained
    # When two receives of 10 and a count of what is left run
    first = backend.receive_message("q", 10, 0, 30)
    second = backend.receive_message("q", 10, 0, 30)
    # Then 20 distinct messages come out, and 10 stay visible
    assert len({m.id for m in first + second}) == 20
    assert queue.approximate_number_of_messages == 10
    assert queue.approximate_number_of_messages_not_visible == 20


def test_service_folders_are_motos_own() -> None:
    # Given moto's service folders, listed here as moto lists them
    root = Path(moto.__file__).parent
    listed = tuple(p.name for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith("__"))
    # Then the cached list is the same, in the same order, and s3/sqs/sns are in it
    assert moto_app.list_of_moto_modules() == listed
    assert {"s3", "sqs", "sns"} <= set(moto_app.list_of_moto_modules())
