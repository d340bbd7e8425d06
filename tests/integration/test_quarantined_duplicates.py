"""A copy of a quarantined upload's event is a duplicate; an operator's redrive is not.

A failed manifest answers a plain duplicate (an S3/SNS copy of the event, a reprocess) when it
records a failure of the file itself (corrupt, unsupported, too large) for the same upload, the
same configuration and the same engine, written by another delivery: acknowledged with no image
work and no second DLQ message. A redrive (`imgpipe dlq redrive`, or SQS's own move task, which
keeps the `imgpipe-*` attributes) is tried again, since operators redrive after fixing a cause,
and so is a copy after an engine change, or the very same delivery again (it may have died
between its failed manifest and its DLQ message).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack, redelivered
from tests.integration.interleave import Before, Crash, Instance, crash, dlq_reasons
from tests.integration.staging import delete_source, instances, redriven, run, source

pytestmark = pytest.mark.integration

KEY = "uploads/u1/poison.jpg"
MANIFEST = "metadata/poison/processing-info.json"


@pytest.fixture
def instance(stack: Stack) -> Iterator[Callable[[], Instance]]:
    yield from instances(stack)


async def _nothing() -> None:
    return None


def _reads_of_the_source(stack: Stack, one: Instance) -> Before:
    """Counts `one`'s requests for the upload's bytes (image work starts with one)."""
    counter = Before(source(stack, KEY), _nothing)
    run(stack, one.hook("s3", "before-send.s3.GetObject", counter))
    return counter


def _quarantined(stack: Stack, one: Instance) -> tuple[dict[str, Any], dict[str, Any]]:
    """A corrupt upload's event, handled once: (its event, its DLQ message)."""
    ((_, event),) = stack.upload_and_receive([(KEY, images.truncated_jpeg())]).values()
    assert run(stack, one.run([event])) == []
    (dead,) = stack.dlq_messages()
    return event, dead


def test_a_duplicate_of_a_quarantined_upload_does_no_work_and_sends_nothing(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a corrupt upload, quarantined once with a failed manifest
    event, _ = _quarantined(stack, instance())
    failed = stack.manifest("poison")
    b = instance()
    reads = _reads_of_the_source(stack, b)
    # When an at-least-once copy of its event arrives on another instance
    assert run(stack, b.run([redelivered(event)])) == []
    # Then it is acknowledged as a duplicate: no read of the upload, no second DLQ message
    assert reads.calls == 0
    assert dlq_reasons(stack) == []
    assert stack.manifest("poison") == failed


@pytest.mark.parametrize("how", ["imgpipe dlq redrive", "SQS move task"])
def test_a_redrive_of_a_quarantined_upload_is_tried_again(
    stack: Stack, instance: Callable[[], Instance], how: str
) -> None:
    # Given a corrupt upload, quarantined once
    _, dead = _quarantined(stack, instance())
    b = instance()
    reads = _reads_of_the_source(stack, b)
    # When an operator moves its DLQ message back (attributes kept; our redrive counts it)
    back = redriven(dead) if how == "imgpipe dlq redrive" else redelivered(dead)
    assert run(stack, b.run([back])) == []
    # Then the upload is tried again, and quarantined again with its reason
    assert reads.calls == 1
    assert dlq_reasons(stack) == [(KEY, "CorruptImage")]


@pytest.mark.parametrize("recorded", ["another engine", "no engine"])
def test_a_duplicate_after_an_engine_change_is_tried_again(
    stack: Stack, instance: Callable[[], Instance], recorded: str
) -> None:
    # Given a failed manifest written by another engine (an older deploy), or before engines
    # were recorded
    event, _ = _quarantined(stack, instance())
    document = stack.manifest("poison")
    assert document is not None and document["pipeline"]["engineHash"]
    if recorded == "another engine":
        document["pipeline"]["engineHash"] = "0" * 16
    else:
        del document["pipeline"]["engineHash"]
    stack.s3.put_object(Bucket=stack.topology.output_bucket, Key=MANIFEST, Body=json.dumps(document))
    b = instance()
    reads = _reads_of_the_source(stack, b)
    # When a copy of its event arrives
    assert run(stack, b.run([redelivered(event)])) == []
    # Then this engine decides again (a decoder fix may render it now)
    assert reads.calls == 1
    assert dlq_reasons(stack) == [(KEY, "CorruptImage")]


def test_the_same_delivery_again_after_a_crash_before_its_dlq_message_quarantines_it(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given a corrupt upload whose run dies after its failed manifest, at its DLQ send
    ((_, event),) = stack.upload_and_receive([(KEY, images.truncated_jpeg())]).values()
    a = instance()
    run(stack, a.hook("sqs", "before-send.sqs.SendMessage", Before(lambda _: True, crash)))
    with pytest.raises(Crash):
        run(stack, a.run([event]))
    failed = stack.manifest("poison")
    assert failed is not None and failed["status"] == "failed"
    # When SQS delivers the same message again
    assert run(stack, instance().run([redelivered(event) | {"MessageId": event["MessageId"]}])) == []
    # Then it is quarantined: its failure reaches the DLQ once
    assert dlq_reasons(stack) == [(KEY, "CorruptImage")]


def test_a_missing_source_is_quarantined_once_and_the_same_bytes_uploaded_again_are_processed(
    stack: Stack, instance: Callable[[], Instance]
) -> None:
    # Given an upload deleted before it was processed: SourceMissing, with a failed manifest
    photo = images.photo_jpeg(320, 240, seed=31)
    ((etag, event),) = stack.upload_and_receive([(KEY, photo)]).values()
    delete_source(stack, KEY)
    assert run(stack, instance().run([event])) == []
    assert dlq_reasons(stack) == [(KEY, "SourceMissing")]
    # When a copy of its event arrives while the source is still gone
    assert run(stack, instance().run([redelivered(event)])) == []
    # Then the failure is not sent to the DLQ a second time
    assert dlq_reasons(stack) == []
    # And when the same bytes are uploaded again (the same ETag), they are processed
    ((again, event2),) = stack.upload_and_receive([(KEY, photo)]).values()
    assert again == etag
    assert run(stack, instance().run([event2])) == []
    stack.assert_consistent("poison", "u1", etag)
    assert dlq_reasons(stack) == []
