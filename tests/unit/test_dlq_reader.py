"""`DlqReader` over the in-memory SQS: every message once, holds renewed, everything let go at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

import pytest

from deploy.ops.dlq.reader import HOLD_S, MAX_MESSAGES, DlqReader
from tests.unit.test_dlq_fake_sqs import FakeClock, FakeSqs

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import ReceiveMessageRequestTypeDef, ReceiveMessageResultTypeDef

pytestmark = pytest.mark.unit

DLQ = "dlq"


def queue_of(count: int) -> FakeSqs:
    sqs = FakeSqs(FakeClock())
    for n in range(count):
        sqs.put(DLQ, f"body {n}")
    return sqs


def reader(
    sqs: FakeSqs, hold_s: int = HOLD_S, max_messages: int = MAX_MESSAGES, max_seconds: float | None = None
) -> DlqReader:
    return DlqReader(
        sqs,
        DLQ,
        hold_s=hold_s,
        max_messages=max_messages,
        max_seconds=max_seconds,
        clock=sqs.clock,
        sleep=sqs.clock.sleep,
    )


def test_every_message_is_read_once_and_visible_again_at_the_end() -> None:
    # Given a queue of 250 messages, far more than one receive returns
    sqs = queue_of(250)
    # When it is read to the end
    with reader(sqs) as read:
        bodies = [m.body for m in read]
        hidden_while_reading = len(sqs.visible(DLQ))
    # Then each message was handed out exactly once, with about one receive per ten messages
    assert sorted(bodies) == sorted(f"body {n}" for n in range(250))
    assert hidden_while_reading == 0
    assert sqs.calls["ReceiveMessage"] == 26
    # And all of them are visible again at once, the read complete
    assert len(sqs.visible(DLQ)) == 250
    assert read.report.complete and read.report.warning() is None
    assert read.report.release_failures == 0


def test_a_count_bound_stops_the_read_and_says_it_may_be_incomplete() -> None:
    # Given 40 messages and a reader bounded to 25
    sqs = queue_of(40)
    with reader(sqs, max_messages=25) as read:
        seen = list(read)
    # Then it stopped at 25 and says why the listing may be incomplete
    assert len(seen) == 25
    assert read.report.stopped_by == "count" and not read.report.complete
    assert "count limit" in (read.report.warning() or "")
    assert len(sqs.visible(DLQ)) == 40


def test_a_time_bound_stops_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a queue whose every receive takes 2 s, and a reader bounded to 5 s
    sqs = queue_of(100)
    receive = sqs.receive_message

    def slow_receive(**arguments: Unpack[ReceiveMessageRequestTypeDef]) -> ReceiveMessageResultTypeDef:
        sqs.clock.sleep(2)
        return receive(**arguments)

    monkeypatch.setattr(sqs, "receive_message", slow_receive)
    with reader(sqs, max_seconds=5) as read:
        seen = list(read)
    # Then it stopped after three receives
    assert len(seen) == 30 and read.report.stopped_by == "time"


def test_holds_are_renewed_for_a_consumer_slower_than_the_hold() -> None:
    # Given a 30 s hold and a consumer taking 10 s a message (through `pause`, as redrive's rate does)
    sqs = queue_of(20)
    with reader(sqs, hold_s=30) as read:
        seen = []
        for message in read:
            seen.append(message.message_id)
            read.pause(10)
            # Then no message this read holds ever became visible to anyone else
            assert all(m.receives == 0 for m in sqs.visible(DLQ))
    # And each was handed out once, and let go with its current receipt at the end
    assert len(seen) == len(set(seen)) == 20
    assert sqs.calls["ChangeMessageVisibilityBatch"] > 2
    assert read.report.release_failures == 0
    assert len(sqs.visible(DLQ)) == 20


def test_a_lapsed_hold_is_taken_again_not_handed_out_twice_and_released_with_the_new_receipt() -> None:
    # Given a consumer that stalls past the hold, while someone else peeks at the lapsed messages
    sqs = queue_of(15)
    with reader(sqs, hold_s=30) as read:
        seen = []
        for message in read:
            seen.append(message.message_id)
            if len(seen) == 1:
                sqs.clock.now += 100  # the first ten lapse...
                sqs.receive_message(
                    QueueUrl=DLQ, MaxNumberOfMessages=10, VisibilityTimeout=0
                )  # ...new receipts
    # Then every message was handed out once, the read ended, and releasing used current receipts
    assert sorted(seen) == sorted(m.message_id for m in sqs.queues[DLQ])
    assert read.report.release_failures == 0
    assert len(sqs.visible(DLQ)) == 15


def test_a_reader_that_dies_leaves_messages_hidden_for_one_hold_only() -> None:
    # Given a reader that read everything and then vanished without letting go
    sqs = queue_of(12)
    read = reader(sqs, hold_s=30)
    read.__enter__()
    assert len(list(read)) == 12
    # Then the messages are hidden for the hold, and no longer
    sqs.clock.now += 29
    assert sqs.visible(DLQ) == []
    sqs.clock.now += 1
    assert len(sqs.visible(DLQ)) == 12


def test_delete_removes_only_what_sqs_confirms() -> None:
    # Given a read of five messages, one of which SQS refuses to delete
    sqs = queue_of(5)
    refused = sqs.queues[DLQ][2].message_id
    sqs.fail_delete_ids.add(refused)
    with reader(sqs) as read:
        ids = [m.message_id for m in read]
        failed = read.delete(ids)
    # Then the refusal is reported, and the refused message is visible again in the DLQ
    assert list(failed) == [refused] and "InternalError" in failed[refused]
    assert [m.message_id for m in sqs.visible(DLQ)] == [refused]


def test_messages_held_by_another_reader_make_the_listing_possibly_incomplete() -> None:
    # Given a queue where another reader holds 3 of 10 messages
    sqs = queue_of(10)
    sqs.receive_message(QueueUrl=DLQ, MaxNumberOfMessages=3, VisibilityTimeout=300)
    with reader(sqs) as read:
        seen = list(read)
    # Then the read sees 7 and says 3 were held elsewhere
    assert len(seen) == 7
    assert not read.report.complete
    assert "3 held by another reader" in (read.report.warning() or "")
