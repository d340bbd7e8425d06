"""A worker whose SQS has gone away still stops when asked, instead of finishing its backoff."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Unpack

import pytest
from botocore.exceptions import EndpointConnectionError

from deploy.local import poller as poller_module
from deploy.local.poller import Poller, PollerConfig
from tests.client_types import SqsBase

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import ReceiveMessageRequestTypeDef, ReceiveMessageResultTypeDef

pytestmark = pytest.mark.unit


class GoneSqs(SqsBase):
    """Every receive fails as it does when the endpoint no longer listens."""

    def __init__(self) -> None:
        self.failed = threading.Event()
        self.calls = 0

    def receive_message(self, **_: Unpack[ReceiveMessageRequestTypeDef]) -> ReceiveMessageResultTypeDef:
        self.calls += 1
        self.failed.set()
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")


def test_a_stop_cuts_the_backoff_short(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a poller whose queue endpoint is gone, and a backoff as long as it grows to (30 s)
    monkeypatch.setattr(poller_module, "BACKOFF_FIRST_S", 30.0)
    sqs, stop = GoneSqs(), threading.Event()
    poller = Poller(sqs, lambda event, context: {"batchItemFailures": []}, PollerConfig("q", "arn", "r"))
    worker = threading.Thread(target=poller.run, args=(stop.is_set,), daemon=True)
    worker.start()
    # When it is asked to stop during that backoff
    assert sqs.failed.wait(timeout=60)
    asked = time.monotonic()
    stop.set()
    worker.join(timeout=10)
    # Then it stops within a moment, not at the end of the backoff
    assert not worker.is_alive()
    assert time.monotonic() - asked < 5
