"""The invocation deadline: a record that cannot finish in the time left is not started."""

from __future__ import annotations

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack, failed_ids

pytestmark = pytest.mark.integration


def test_one_second_left_reports_every_record_and_writes_nothing(stack: Stack) -> None:
    test_event = stack.test_event_message()
    received = stack.upload_and_receive(
        [
            ("uploads/u1/late_a.jpg", images.photo_jpeg(400, 300, seed=81)),
            ("uploads/u1/late_b.jpg", images.photo_jpeg(300, 400, seed=82)),
            ("uploads/u1/late_bad.jpg", images.text_document()),
        ]
    )
    messages = [test_event, *(message for _, message in received.values())]

    response = stack.process(messages, timeout_s=1)  # default record_budget_ms is 15000

    assert sorted(failed_ids(response)) == sorted(m["MessageId"] for m in messages)
    assert stack.output_keys() == []
    assert stack.dlq_messages() == []


def test_a_budget_that_fits_lets_the_same_batch_through(stack: Stack) -> None:
    stack.configure(IMGPIPE_RECORD_BUDGET_MS="200")
    received = stack.upload_and_receive([("uploads/u1/on_time.jpg", images.photo_jpeg(400, 300, seed=83))])
    ((etag, message),) = received.values()

    assert stack.process([message], timeout_s=5) == {"batchItemFailures": []}
    stack.assert_consistent("on_time", "u1", etag)
