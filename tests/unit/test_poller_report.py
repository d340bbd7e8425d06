"""The poller logs one Lambda-like REPORT line per invocation (the router's figures read its
duration from it), whether the handler answered or raised."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Unpack

import pytest

from deploy.local.esm import LocalContext
from deploy.local.poller import Poller, PollerConfig
from tests.client_types import SqsBase, answered

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import (
        DeleteMessageBatchRequestTypeDef,
        DeleteMessageBatchResultEntryTypeDef,
        DeleteMessageBatchResultTypeDef,
        MessageTypeDef,
    )

pytestmark = pytest.mark.unit

UUID = r"[0-9a-f-]{36}"
LINE = re.compile(rf"^REPORT RequestId: (?P<id>{UUID}) Duration: (?P<ms>\d+\.\d\d) ms Records: (?P<n>\d+)$")


class DeletingSqs(SqsBase):
    """Deletes whatever it is asked to."""

    def __init__(self) -> None:
        self.deleted = 0

    def delete_message_batch(
        self, **kwargs: Unpack[DeleteMessageBatchRequestTypeDef]
    ) -> DeleteMessageBatchResultTypeDef:
        done: list[DeleteMessageBatchResultEntryTypeDef] = [{"Id": e["Id"]} for e in kwargs["Entries"]]
        self.deleted += len(done)
        return {"Successful": done, "Failed": [], "ResponseMetadata": answered()}


def messages(count: int) -> list[MessageTypeDef]:
    return [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": "{}", "MD5OfBody": "x", "Attributes": {}}
        for i in range(count)
    ]


def reports(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    found = [LINE.match(r.getMessage()) for r in caplog.records if r.name == "imgpipe.poller"]
    return [match for match in found if match]


def test_each_invocation_logs_its_request_id_duration_and_records(caplog: pytest.LogCaptureFixture) -> None:
    # Given a handler that notes the request id it ran under
    seen: list[str] = []

    def handler(event: dict[str, Any], context: LocalContext) -> dict[str, Any]:
        seen.append(context.aws_request_id)
        return {"batchItemFailures": []}

    sqs = DeletingSqs()
    poller = Poller(sqs, handler, PollerConfig("q", "arn", "r"))
    # When it is invoked twice, with 3 and then 1 records
    with caplog.at_level(logging.INFO, logger="imgpipe.poller"):
        poller.invoke(messages(3))
        poller.invoke(messages(1))
    # Then one REPORT line each, with that invocation's id and record count
    lines = reports(caplog)
    assert [(m["id"], int(m["n"])) for m in lines] == [(seen[0], 3), (seen[1], 1)]
    assert seen[0] != seen[1]
    assert sqs.deleted == 4  # and the batches were settled as before
    assert all(float(m["ms"]) >= 0 for m in lines)


def test_an_invocation_that_raised_is_reported_too(caplog: pytest.LogCaptureFixture) -> None:
    # Given a handler that raises
    def handler(event: dict[str, Any], context: LocalContext) -> dict[str, Any]:
        raise RuntimeError("boom")

    poller = Poller(DeletingSqs(), handler, PollerConfig("q", "arn", "r"))
    # When it is invoked
    with caplog.at_level(logging.INFO, logger="imgpipe.poller"):
        result = poller.invoke(messages(2))
    # Then the batch stays, and the invocation still has its REPORT line, after the traceback's
    assert result.reason == "raised"
    assert [int(m["n"]) for m in reports(caplog)] == [2]
    assert caplog.records[-1].getMessage().startswith("REPORT ")
