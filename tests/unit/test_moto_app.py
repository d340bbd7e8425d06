"""The moto server's patches give moto's own answers: same clock, same retention verdicts.

Moto's backend objects are used in-process here (no sockets): the functions are pure
computations over a queue, and the question is only whether the patched ones agree.
"""

from __future__ import annotations

import datetime
import time
import uuid
from pathlib import Path

import moto
import pytest
from moto.core import utils as moto_utils
from moto.s3.models import FakeBucket, FakeKey, S3Backend
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


@pytest.fixture
def s3() -> S3Backend:
    return S3Backend("us-east-1", ACCOUNT)


def _bucket_with_keys(s3: S3Backend) -> FakeBucket:
    name = f"listed-{uuid.uuid4().hex[:12]}"  # moto's bucket names are one namespace, as S3's
    s3.create_bucket(name, "us-east-1")
    names = [f"uploads/user{i % 3}/{i:04d}-{'ab'[i % 2]}.jpg" for i in range(60)]
    names += ["uploads/user1/folder/a.jpg", "uploads/user1/folder/b.jpg", "uploadsX/odd", "metadata/x.json"]
    for key in names:
        s3.put_object(name, key, b"one")
    s3.put_object(name, "uploads/user0/0000-a.jpg", b"a newer version")  # the newest is listed
    return s3.get_bucket(name)


@pytest.mark.parametrize(
    ("prefix", "delimiter", "start", "max_keys"),
    [
        ("uploads/user1/", None, None, 1000),
        ("uploads/user1/0013-b.", None, None, 1),  # the client API's lookup of one image's upload
        ("uploads/user2/0005", None, None, 1),  # a prefix of several names
        ("uploads/user1/", "/", None, 1000),  # the folder under it rolled up
        ("uploads/user0/", None, "uploads/user0/0030-a.jpg", 5),  # a page after a start
        ("uploads", None, None, 1000),  # uploads/ and uploadsX/
        ("uploads/nobody/", None, None, 1000),
        (None, None, None, 1000),
        (None, "/", None, 1000),
    ],
)
def test_a_listing_by_prefix_is_motos_own(
    s3: S3Backend, prefix: str | None, delimiter: str | None, start: str | None, max_keys: int
) -> None:
    # Given a bucket of keys under several prefixes, one of them written twice
    bucket = _bucket_with_keys(s3)

    # When it is listed through moto's listing and through the patched one
    def listing(list_objects: object) -> tuple[list[tuple[str, bytes]], bool]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(S3Backend, "list_objects", list_objects)
            found, truncated, _ = s3.list_objects_v2(bucket, prefix, delimiter, None, start, max_keys)
        return [(k.name, k.value) if isinstance(k, FakeKey) else (str(k), b"") for k in found], truncated

    # Then both list the same keys (each name's newest version) and folders, and both say truncated alike
    assert listing(moto_app.list_objects) == listing(moto_app._moto_list_objects)
