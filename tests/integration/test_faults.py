"""Faults injected into the worker's live aiobotocore S3 client with before-send hooks.

`AWS_MAX_ATTEMPTS=1` turns botocore's own retries off, so every attempt counted here is one the
worker made itself (`retry_step`, 4 attempts per step).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import images
from tests.integration.conftest import ACCESS_DENIED, SLOW_DOWN, Fault, Stack, failed_ids

pytestmark = pytest.mark.integration

STEP_ATTEMPTS = 4  # worker.deadline.retry_step's default


@pytest.fixture
def faulty(stack: Stack) -> Stack:
    stack.configure(AWS_MAX_ATTEMPTS="1")
    return stack


def _source_get(stack: Stack, key: str | None = None) -> Any:
    prefix = f"/{stack.topology.input_bucket}/"
    return lambda url: prefix in url and (key is None or url.split("?")[0].endswith(f"{prefix}{key}"))


def _variant_put(stack: Stack) -> Any:
    prefix = f"/{stack.topology.output_bucket}/processed/"
    return lambda url: prefix in url


def test_transient_slowdown_on_get_object_then_success(faulty: Stack) -> None:
    key = "uploads/u1/slow_get.jpg"
    ((etag, message),) = faulty.upload_and_receive([(key, images.photo_jpeg(400, 300, seed=31))]).values()
    fault = faulty.inject(Fault("GetObject", _source_get(faulty), fail=lambda n: n <= 2))

    assert faulty.process([message]) == {"batchItemFailures": []}

    assert (fault.calls, fault.failed) == (3, 2)
    faulty.assert_consistent("slow_get", "u1", etag)
    assert faulty.dlq_messages() == []


def test_transient_slowdown_on_put_object_then_success(faulty: Stack) -> None:
    key = "uploads/u1/slow_put.jpg"
    ((etag, message),) = faulty.upload_and_receive([(key, images.photo_jpeg(400, 300, seed=32))]).values()
    fault = faulty.inject(Fault("PutObject", _variant_put(faulty), fail=lambda n: n <= 2))

    assert faulty.process([message]) == {"batchItemFailures": []}

    # 5 concurrent puts, 2 refused: only those two are sent again, not the whole set
    assert (fault.calls, fault.failed) == (7, 2)
    faulty.assert_consistent("slow_put", "u1", etag)
    assert faulty.dlq_messages() == []


def test_persistent_slowdown_fails_only_that_record(faulty: Stack) -> None:
    received = faulty.upload_and_receive(
        [
            ("uploads/u1/ok_a.jpg", images.photo_jpeg(400, 300, seed=33)),
            ("uploads/u1/throttled.jpg", images.photo_jpeg(400, 300, seed=34)),
            ("uploads/u1/ok_b.jpg", images.photo_jpeg(300, 400, seed=35)),
        ]
    )
    fault = faulty.inject(
        Fault("GetObject", _source_get(faulty, "uploads/u1/throttled.jpg"), fail=lambda n: True)
    )

    response = faulty.process([message for _, message in received.values()])

    assert failed_ids(response) == [received["uploads/u1/throttled.jpg"][1]["MessageId"]]
    assert (fault.calls, fault.failed) == (STEP_ATTEMPTS, STEP_ATTEMPTS)
    faulty.assert_consistent("ok_a", "u1", received["uploads/u1/ok_a.jpg"][0])
    faulty.assert_consistent("ok_b", "u1", received["uploads/u1/ok_b.jpg"][0])
    assert faulty.manifest("throttled") is None
    assert faulty.output_keys("processed/u1/throttled/") == []
    assert faulty.dlq_messages() == []


def test_access_denied_is_retried_by_sqs_not_quarantined(faulty: Stack) -> None:
    key = "uploads/u1/denied.jpg"
    ((_, message),) = faulty.upload_and_receive([(key, images.photo_jpeg(400, 300, seed=36))]).values()
    fault = faulty.inject(
        Fault("GetObject", _source_get(faulty, key), fail=lambda n: True, response=ACCESS_DENIED)
    )

    response = faulty.process([message])

    assert failed_ids(response) == [message["MessageId"]]
    assert (fault.calls, fault.failed) == (STEP_ATTEMPTS, STEP_ATTEMPTS)
    assert faulty.dlq_messages() == []
    assert faulty.manifest("denied") is None
    assert faulty.output_keys() == []


def test_fake_error_response_is_parsed_as_the_real_s3_error(faulty: Stack) -> None:
    """Guards the harness itself: the fake 503 must surface as S3's SlowDown ClientError."""
    import botocore.exceptions

    faulty.upload("uploads/u1/x.jpg", b"x")
    clients = faulty.clients()
    fault = faulty.inject(Fault("GetObject", _source_get(faulty), fail=lambda n: True, response=SLOW_DOWN))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        faulty.loop.run_until_complete(
            clients.s3.get_object(Bucket=faulty.topology.input_bucket, Key="uploads/u1/x.jpg")
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "SlowDown"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert fault.calls == 1  # AWS_MAX_ATTEMPTS=1: botocore did not retry on its own
