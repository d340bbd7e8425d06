"""`redrive` over the in-memory SQS: send first, delete only what was sent, guard, limits, pacing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from deploy.ops.dlq.reader import DlqReader
from deploy.ops.dlq.redrive import RedrivePlan, RedriveResult, redrive
from deploy.ops.dlq.selection import Selection
from tests.unit.test_dlq_fake_sqs import FakeClock, FakeSqs

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef

pytestmark = pytest.mark.unit

DLQ, WORK = "dlq", "work"


def attributes(
    error_type: str | None, redrives: int | None = None
) -> dict[str, MessageAttributeValueOutputTypeDef]:
    found: dict[str, MessageAttributeValueOutputTypeDef] = {}
    if error_type is not None:
        found["imgpipe-error-type"] = {"DataType": "String", "StringValue": error_type}
        found["imgpipe-object-key"] = {"DataType": "String", "StringValue": "uploads/alice/img_x.jpg"}
    if redrives is not None:
        found["imgpipe-redrive-count"] = {"DataType": "String", "StringValue": str(redrives)}
    return found


def dlq_of(*kinds: tuple[int, str | None, int | None]) -> FakeSqs:
    """`(how many, error type or None for Exhausted, redrive count)` groups, bodies numbered."""
    sqs = FakeSqs(FakeClock())
    for count, error_type, redrives in kinds:
        for _ in range(count):
            sqs.put(
                DLQ, f"body {len(sqs.queues.get(DLQ, []))} {error_type}", attributes(error_type, redrives)
            )
    return sqs


def run(sqs: FakeSqs, plan: RedrivePlan, hold_s: int = 60) -> RedriveResult:
    with DlqReader(sqs, DLQ, hold_s=hold_s, clock=sqs.clock, sleep=sqs.clock.sleep) as reader:
        return redrive(sqs, reader, plan, clock=sqs.clock)


def bodies(sqs: FakeSqs, url: str) -> list[str]:
    return sorted(m.body for m in sqs.queues.get(url, []))


def test_only_selected_messages_move_with_attributes_kept_and_the_count_up() -> None:
    # Given 30 CorruptImage and 20 Exhausted messages
    sqs = dlq_of((30, "CorruptImage", None), (20, None, None))
    originals = bodies(sqs, DLQ)
    # When the Exhausted ones are redriven
    result = run(sqs, RedrivePlan(WORK, Selection.of(["exhausted"])))
    # Then exactly those moved, bodies unchanged, counted once more; the others are visible in the DLQ
    assert len(result.moved) == 20 and result.skipped == 30 and result.ok
    assert all(body.endswith("None") for body in bodies(sqs, WORK))
    assert sorted(bodies(sqs, WORK) + bodies(sqs, DLQ)) == originals
    assert {m.attributes["imgpipe-redrive-count"]["StringValue"] for m in sqs.queues[WORK]} == {"1"}
    assert len(sqs.visible(DLQ)) == 30
    # And each was deleted from the DLQ only after it had been sent
    for body in bodies(sqs, WORK):
        assert sqs.log.index(("send", body)) < sqs.log.index(("delete", body))


def test_tagged_attributes_travel_with_the_message() -> None:
    # Given a quarantined message already redriven once
    sqs = dlq_of((1, "ImageTooLarge", 1))
    # When it is redriven again
    run(sqs, RedrivePlan(WORK))
    # Then its imgpipe attributes are kept and the redrive count is 2
    (sent,) = sqs.queues[WORK]
    assert sent.attributes["imgpipe-error-type"]["StringValue"] == "ImageTooLarge"
    assert sent.attributes["imgpipe-redrive-count"] == {"DataType": "String", "StringValue": "2"}


def test_a_failed_send_stays_in_the_dlq_and_is_not_deleted() -> None:
    # Given 12 messages, two of which the work queue refuses
    sqs = dlq_of((12, "CorruptImage", None))
    refused = set(bodies(sqs, DLQ)[:2])
    sqs.fail_send_bodies |= refused
    # When they are redriven
    result = run(sqs, RedrivePlan(WORK))
    # Then the two are reported failed at the send and are still (visible) in the DLQ
    assert len(result.moved) == 10 and result.count("send") == 2 and not result.ok
    assert set(bodies(sqs, DLQ)) == refused and len(sqs.visible(DLQ)) == 2


def test_a_failed_delete_after_the_send_duplicates_and_loses_nothing() -> None:
    # Given 12 messages, three of which the DLQ will not delete
    sqs = dlq_of((12, "CorruptImage", None))
    originals = bodies(sqs, DLQ)
    sqs.fail_delete_ids |= {m.message_id for m in sqs.queues[DLQ][:3]}
    # When they are redriven
    result = run(sqs, RedrivePlan(WORK))
    # Then the three were sent and are also still in the DLQ: duplicated, not lost, and reported
    assert result.count("delete") == 3 and len(result.moved) == 9
    assert set(bodies(sqs, WORK)) == set(originals)
    assert len(bodies(sqs, DLQ)) == 3 and len(sqs.visible(DLQ)) == 3


def test_max_stops_there_without_reading_the_whole_dlq() -> None:
    # Given 400 messages
    sqs = dlq_of((400, "CorruptImage", None))
    # When at most one is redriven
    result = run(sqs, RedrivePlan(WORK, max_moves=1))
    # Then one moved after a single receive, and the rest are visible again
    assert len(result.moved) == 1 and len(bodies(sqs, WORK)) == 1
    assert sqs.calls["ReceiveMessage"] == 1 and result.read.seen <= 10
    assert len(sqs.visible(DLQ)) == 399


def test_messages_redriven_too_often_are_held_back_unless_forced() -> None:
    # Given 5 fresh messages and 4 already redriven three times
    sqs = dlq_of((5, "CorruptImage", None), (4, "CorruptImage", 3))
    # When redriven without --force, then with it
    held = run(sqs, RedrivePlan(WORK))
    forced = run(sqs, RedrivePlan(WORK, force=True))
    # Then the four were held back first and moved only when forced, counted up to 4
    assert (len(held.moved), held.held_back) == (5, 4)
    assert (len(forced.moved), forced.held_back) == (4, 0)
    counts = sorted(m.attributes["imgpipe-redrive-count"]["StringValue"] for m in sqs.queues[WORK])
    assert counts == ["1"] * 5 + ["4"] * 4


def test_a_dry_run_moves_nothing() -> None:
    # Given 25 messages
    sqs = dlq_of((25, "CorruptImage", None))
    # When a dry run is asked for
    result = run(sqs, RedrivePlan(WORK, dry_run=True))
    # Then it says all 25 would move, sent nothing, and they are all visible
    assert len(result.moved) == 25 and WORK not in sqs.queues
    assert sqs.calls.get("SendMessageBatch", 0) == 0 and sqs.calls.get("DeleteMessageBatch", 0) == 0
    assert len(sqs.visible(DLQ)) == 25


def test_the_rate_paces_sends_and_the_run_outlives_the_hold() -> None:
    # Given 100 messages, a 2/s rate and a 10 s hold (the run takes far longer than the hold)
    sqs = dlq_of((60, "CorruptImage", None), (40, None, None))
    # When the Exhausted ones are redriven
    result = run(sqs, RedrivePlan(WORK, Selection.of(["Exhausted"]), rate=2), hold_s=10)
    # Then all 40 moved, no faster than 2/s after a first batch of 2, and the run ended
    assert len(result.moved) == 40 and result.ok
    assert result.elapsed_s >= (40 - 2) / 2
    assert len(bodies(sqs, WORK)) == 40 and len(sqs.visible(DLQ)) == 60
    assert result.read.seen == 100 and result.read.release_failures == 0
