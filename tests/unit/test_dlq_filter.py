"""The pure pieces of the DLQ tools: filters, durations, error types, rates, the token bucket, decoding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from deploy.ops.dlq.message import EXHAUSTED, Quarantined, decode_body, known_error_types
from deploy.ops.dlq.redrive_rate import TokenBucket, batch_size, parse_rate
from deploy.ops.dlq.selection import Selection, SelectionError, canonical_types, parse_duration
from tests.unit.test_dlq_fake_sqs import FakeClock

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def message(
    error_type: str | None = "CorruptImage",
    key: str = "uploads/alice/img_1.jpg",
    failed_at: str | None = None,
) -> Quarantined:
    attributes: dict[str, MessageAttributeValueOutputTypeDef] = {}
    if error_type is not None:
        attributes = {
            "imgpipe-error-type": {"DataType": "String", "StringValue": error_type},
            "imgpipe-object-key": {"DataType": "String", "StringValue": key},
        }
        if failed_at:
            attributes["imgpipe-failed-at"] = {"DataType": "String", "StringValue": failed_at}
    body = json.dumps(
        {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": key.replace(" ", "+")}}}]}
    )
    return Quarantined.of(
        {
            "MessageId": "m1",
            "Body": body,
            "MessageAttributes": attributes,
            "Attributes": {"SentTimestamp": "0"},
        }
    )


def test_a_bad_duration_is_a_selection_error() -> None:
    with pytest.raises(SelectionError, match=r"not a duration: 'banana'"):
        parse_duration("banana")
    assert parse_duration("1.5h") == timedelta(hours=1.5)


def test_known_error_types_are_the_permanent_errors_and_exhausted() -> None:
    known = known_error_types()
    assert {"CorruptImage", "UnsupportedFormat", "ImageTooLarge", "InvalidKey", EXHAUSTED} <= set(known)
    assert "ImageIdConflict" in known  # a subclass of a subclass
    assert "RetryableError" not in known and "PermanentError" not in known


def test_error_types_match_in_any_case() -> None:
    assert canonical_types(["corruptimage", "EXHAUSTED", " ImageTooLarge "]) == {
        "CorruptImage",
        "Exhausted",
        "ImageTooLarge",
    }


def test_an_unknown_error_type_lists_the_known_ones() -> None:
    with pytest.raises(SelectionError) as caught:
        canonical_types(["CorruptImgae"])
    text = str(caught.value)
    assert text.startswith("unknown error type 'CorruptImgae'; known types: ")
    assert text.endswith(", ".join(known_error_types()))


def test_selection_by_type_user_and_age() -> None:
    old = message(failed_at="2026-11-28T12:00:00.000Z")
    new = message(failed_at="2026-12-01T11:00:00.000Z")
    bob = message(key="uploads/bob/img_2.jpg")
    exhausted = message(error_type=None, key="uploads/bob/img 3.jpg")
    assert (
        exhausted.error_type == EXHAUSTED
        and exhausted.user == "bob"
        and (exhausted.object_key or "").endswith(" 3.jpg")
    )
    by_type = Selection.of(["exhausted"])
    assert [by_type.matches(m, NOW) for m in (old, bob, exhausted)] == [False, False, True]
    by_user = Selection.of(users=["bob"])
    assert [by_user.matches(m, NOW) for m in (old, bob, exhausted)] == [False, True, True]
    by_age = Selection.of(older_than="2d")
    assert [by_age.matches(m, NOW) for m in (old, new)] == [True, False]
    assert Selection().matches(old, NOW) and Selection().describe() == "every message"


def test_exhausted_messages_age_from_when_they_were_first_sent() -> None:
    exhausted = message(error_type=None)
    assert exhausted.failed_at is None and exhausted.when == "1970-01-01T00:00:00.000Z"
    assert Selection.of(older_than="1d").matches(exhausted, NOW)


def test_sns_envelopes_are_unwrapped() -> None:
    s3 = {"bucket": {"name": "in"}, "object": {"key": "uploads/a/b+c.jpg", "size": 3}}
    inner = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": s3}]}
    decoded = decode_body(
        json.dumps({"Type": "Notification", "MessageId": "n1", "Message": json.dumps(inner)})
    )
    assert decoded["sns"] == {"Type": "Notification", "MessageId": "n1"}
    assert decoded["records"][0]["key"] == "uploads/a/b c.jpg" and decoded["records"][0]["bucket"] == "in"
    assert decode_body("not json")["error"].startswith("body is not JSON")


@pytest.mark.parametrize(("text", "rate"), [("20", 20.0), ("20/s", 20.0), ("0.5/s", 0.5), (" 3 / s ", 3.0)])
def test_rates(text: str, rate: float) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0", "fast", "20/m", "-1", "0.01", "1e3", "5000"])
def test_bad_rates(text: str) -> None:
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate(text)


def test_batches_are_a_second_of_sends_at_most() -> None:
    assert [batch_size(r) for r in (None, 100, 20, 10, 3.7, 1, 0.5)] == [10, 10, 10, 10, 3, 1, 1]


def test_the_token_bucket_holds_the_rate_after_one_burst() -> None:
    # Given a bucket of 10 tokens at 20 a second, on a fake clock
    clock = FakeClock()
    bucket = TokenBucket(20, 10, clock, clock.sleep)
    start, sent_at = clock.now, []
    # When 200 messages are taken in batches of ten
    for _ in range(20):
        bucket.acquire(10)
        sent_at.append(clock.now - start)
    # Then the first batch went at once and the rest at 20 a second
    assert sent_at[0] == 0
    assert sent_at[-1] == pytest.approx((200 - 10) / 20)
    # And no one-second window saw more than a second's worth plus one batch
    for i, t in enumerate(sent_at):
        assert sum(1 for u in sent_at[i:] if u < t + 1) * 10 <= 20 + 10


def test_the_token_bucket_refuses_more_than_it_can_hold() -> None:
    with pytest.raises(ValueError):
        TokenBucket(5, 5).acquire(6)
