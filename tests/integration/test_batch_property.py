"""Property: whatever mix a batch holds, exactly the transiently failing records are reported."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures import images
from tests.integration.conftest import Fault, Stack, failed_ids, s3_event_body, sqs_record

pytestmark = pytest.mark.integration

KINDS = ("good", "corrupt", "transient", "malformed")
FIXED_MALFORMED = (
    "not json at all",
    " ",
    "[]",
    '"a string"',
    "{}",
    '{"Records": "nope"}',
    '{"Records": [{"eventSource": "aws:sqs"}]}',
    '{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}',
    '{"Type": "Notification", "Message": "{broken"}',
    '{"Type": "Notification", "Message": 42}',
)


def _is_malformed(text: str) -> bool:
    """True when the body is not an S3 notification (raw or in an SNS envelope) nor a test event."""
    try:
        document = json.loads(text)
    except ValueError:
        return True
    return not isinstance(document, dict) or not ({"Records", "Event", "Type"} & set(document))


# characters SQS accepts in a message body (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000+), at least one
sqs_text = st.text(
    alphabet=st.characters(
        min_codepoint=0x20,
        exclude_categories=["Cs"],
        include_characters="\t\n\r",
        exclude_characters="\ufffe\uffff",
    ),
    min_size=1,
    max_size=40,
)
malformed_bodies = st.one_of(st.sampled_from(FIXED_MALFORMED), sqs_text.filter(_is_malformed))
batches = st.lists(st.tuples(st.sampled_from(KINDS), malformed_bodies), min_size=1, max_size=6)


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=batches)
def test_exactly_the_transient_records_are_reported(stack: Stack, batch: list[tuple[str, str]]) -> None:
    stack.configure(AWS_MAX_ATTEMPTS="1")
    input_bucket = stack.topology.input_bucket
    fault = stack.inject(
        Fault("GetObject", lambda url: f"/{input_bucket}/uploads/p/transient_" in url, fail=lambda n: True)
    )
    serial = _serial(stack)
    records: list[dict[str, Any]] = []
    expected: dict[str, list[str]] = {kind: [] for kind in KINDS}
    goods: list[tuple[str, str]] = []
    for kind, malformed in batch:
        n = next(serial)
        if kind == "malformed":
            body = malformed
        else:
            key = f"uploads/p/{kind}_{n}.jpg"
            data = (
                images.truncated_jpeg(160, 120)
                if kind == "corrupt"
                else images.photo_jpeg(160, 120, seed=n % 3)
            )
            etag = stack.upload(key, data)
            body = s3_event_body(input_bucket, key, etag, len(data))
            if kind == "good":
                goods.append((f"{kind}_{n}", etag))
        record = sqs_record(body, stack.topology.queue_arn)
        records.append(record)
        expected[kind].append(record["messageId"])

    response = stack.invoke({"Records": records})

    reported = failed_ids(response)
    batch_ids = {r["messageId"] for r in records}
    assert all(isinstance(i, str) and i for i in reported)
    assert set(reported) <= batch_ids
    assert len(reported) == len(set(reported))
    assert sorted(reported) == sorted(expected["transient"])
    assert fault.calls == 4 * len(expected["transient"])  # every attempt of every transient record failed

    dlq = stack.dlq_messages()
    assert len(dlq) == len(expected["corrupt"]) + len(expected["malformed"])
    quarantined = sorted(m["Body"] for m in dlq)
    by_id = {r["messageId"]: r["body"] for r in records}
    assert quarantined == sorted(by_id[i] for i in expected["corrupt"] + expected["malformed"])
    for image_id, etag in goods:
        manifest = stack.manifest(image_id)
        assert manifest is not None and manifest["status"] == "complete"
        assert manifest["source"]["etag"] == etag


_COUNTERS: dict[int, itertools.count[int]] = {}


def _serial(stack: Stack) -> itertools.count[int]:
    """Numbers unique across the examples run against one provisioned stack."""
    return _COUNTERS.setdefault(id(stack), itertools.count())
