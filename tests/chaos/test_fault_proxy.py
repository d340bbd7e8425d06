"""The fault proxy injects each fault kind as AWS would show it, counts it, and switches per run."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal, overload

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from deploy.local.faults import FaultPlan, FaultProxy
from deploy.local.motoserver import CREDENTIALS, MotoServer

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def proxy() -> Iterator[FaultProxy]:
    with MotoServer() as server:
        proxy = FaultProxy(server.endpoint, FaultPlan()).start()
        try:
            yield proxy
        finally:
            proxy.stop()


@overload
def _client(proxy: FaultProxy, name: Literal["s3"]) -> S3Client: ...
@overload
def _client(proxy: FaultProxy, name: Literal["sqs"]) -> SQSClient: ...
def _client(proxy: FaultProxy, name: Literal["s3", "sqs"]) -> S3Client | SQSClient:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=10)
    return boto3.client(name, endpoint_url=proxy.endpoint, region_name="us-east-1", config=config,
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])  # fmt: skip


def _faults(proxy: FaultProxy) -> dict[str, int]:
    """The proxy's fault counts by `service:kind`."""
    faults = proxy.stats()["faults"]
    assert isinstance(faults, dict), faults
    return faults


def test_without_faults_every_call_passes_through_unchanged(proxy: FaultProxy) -> None:
    # Given no faults planned
    proxy.set_plan(FaultPlan())
    s3, sqs = _client(proxy, "s3"), _client(proxy, "sqs")
    # When S3 and SQS are used through the proxy
    s3.create_bucket(Bucket="proxy-test")
    s3.put_object(Bucket="proxy-test", Key="k", Body=b"x" * 1234)
    queue = sqs.create_queue(QueueName="proxy-test")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    # Then bodies, HEAD lengths and messages arrive as the server sent them
    assert s3.head_object(Bucket="proxy-test", Key="k")["ContentLength"] == 1234
    assert s3.get_object(Bucket="proxy-test", Key="k")["Body"].read() == b"x" * 1234
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]] == [
        "hello"
    ]
    # And the delivery was counted by its receive count
    assert proxy.stats()["receive_counts"] == {"1": 1}


@pytest.mark.parametrize(
    ("kind", "error"),
    [("slowdown", "SlowDown"), ("error500", "InternalError"), ("reset", None), ("timeout", None)],
)
def test_each_fault_kind_fails_the_call_as_aws_would(proxy: FaultProxy, kind: str, error: str | None) -> None:
    # Given every S3 request faulted with one kind
    s3 = _client(proxy, "s3")
    s3.create_bucket(Bucket="proxy-test")
    proxy.set_plan(FaultPlan({kind: 1.0}, services=("s3",), stall_s=0.2))
    before = _faults(proxy).get(f"s3:{kind}", 0)
    # When a PUT is sent
    with pytest.raises((ClientError, ConnectionClosedError)) as raised:
        s3.put_object(Bucket="proxy-test", Key=f"fault-{kind}", Body=b"y")
    proxy.set_plan(FaultPlan())
    # Then the client sees the AWS error code, or a connection that closed without an answer
    if error is not None:
        assert isinstance(raised.value, ClientError) and raised.value.response["Error"]["Code"] == error
    else:
        assert isinstance(raised.value, ConnectionClosedError)
    # And only a lost answer (timeout) let the request land upstream
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="proxy-test").get("Contents", [])]
    assert (f"fault-{kind}" in keys) == (kind == "timeout")
    assert _faults(proxy)[f"s3:{kind}"] == before + 1


def test_faults_apply_only_to_the_planned_services_and_latency_only_delays(proxy: FaultProxy) -> None:
    # Given every S3 request delayed and SQS not targeted
    proxy.set_plan(FaultPlan({"error500": 1.0}, services=("sqs",)))
    s3 = _client(proxy, "s3")
    # Then S3 calls pass, and moto's own API (unsigned) is never faulted
    s3.create_bucket(Bucket="proxy-test")
    with urllib.request.urlopen(f"{proxy.endpoint}/moto-api/data.json", timeout=5) as answer:
        assert answer.status == 200
    proxy.set_plan(FaultPlan({"latency": 1.0}, services=("s3",), latency_s=0.3))
    started = time.monotonic()
    for _ in range(5):
        s3.head_bucket(Bucket="proxy-test")
    proxy.set_plan(FaultPlan())
    assert time.monotonic() - started > 0.2  # five uniform(0, 0.3) delays


def test_a_plan_is_checked_and_spread_over_every_kind() -> None:
    plan = FaultPlan.transient(0.10)
    assert abs(sum(plan.rates.values()) - 0.10) < 1e-9 and all(plan.rates.values())
    assert FaultPlan.parse("slowdown=0.2,reset=0.1").rates == {"slowdown": 0.2, "reset": 0.1}
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan.parse("explode=0.5")
    with pytest.raises(ValueError, match="sum to at most 1"):
        FaultPlan({"slowdown": 0.8, "reset": 0.5})
