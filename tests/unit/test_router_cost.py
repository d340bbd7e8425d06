"""The router's cost per million uploads, worked by hand from stated usage and the listed prices."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadtest.load import router_cost
from loadtest.load.router_cost import Usage, billed_ms, estimate, requests_per_call

pytestmark = pytest.mark.unit


def test_lambda_bills_each_invocation_rounded_up_to_the_millisecond() -> None:
    assert billed_ms([12.01, 3.0, 0.2]) == 13 + 3 + 1


def test_an_sqs_call_is_a_request_per_64_kb() -> None:
    assert requests_per_call() == 1  # 10 S3 events of at most 2 KB
    assert requests_per_call(10, 7 * 1024) == 2
    assert requests_per_call(1, 64 * 1024) == 1
    assert requests_per_call(1, 64 * 1024 + 1) == 2


def test_cost_per_million_uploads() -> None:
    # Given 1,000 uploads routed in 100 invocations of 50 ms billed each, 300 SQS calls, 200 HEADs
    usage = Usage(uploads=1000, invocations=100, billed_ms=100 * 50.0, reported=100, sqs_calls=300, heads=200)
    # When priced per million uploads (100,000 invocations)
    cost = estimate(usage, memory_mb=256)
    # Then each part is its count times its price
    assert cost.lambda_requests == pytest.approx(100_000 * 0.20 / 1e6)  # $0.02
    assert cost.lambda_duration == pytest.approx(100_000 * 0.050 * 0.25 * 0.0000133334)  # 1,250 GB-s
    assert cost.sqs == pytest.approx(300_000 * 0.40 / 1e6)  # $0.12
    assert cost.s3_head == pytest.approx(200_000 * 0.0004 / 1000)  # $0.08
    assert cost.total == pytest.approx(0.02 + 0.01666675 + 0.12 + 0.08)
    assert cost.line().startswith("router_cost: $0.237 per million uploads (lambda $0.020 for 0.100")
    assert "duration $0.017 at 50 ms billed each, 256 MB arm64" in cost.line()
    assert "sqs $0.120 for 0.30 requests an upload; s3 HEAD $0.080 for 0.20 an upload" in cost.line()


def test_memory_scales_the_duration_only() -> None:
    usage = Usage(uploads=10, invocations=1, billed_ms=20.0, reported=1, sqs_calls=3, heads=1)
    small, large = estimate(usage, memory_mb=128), estimate(usage, memory_mb=1024)
    assert large.lambda_duration == pytest.approx(8 * (small.lambda_duration or 0))
    assert large.lambda_requests == small.lambda_requests
    assert (large.sqs, large.s3_head) == (small.sqs, small.s3_head)


def test_without_report_lines_the_duration_is_not_guessed() -> None:
    usage = Usage(uploads=10, invocations=2, billed_ms=None, reported=0, sqs_calls=6, heads=10)
    cost = estimate(usage)
    assert cost.lambda_duration is None
    assert cost.total == pytest.approx(cost.lambda_requests + cost.sqs + cost.s3_head)
    assert "duration not measured (no REPORT lines)" in cost.line()


def test_the_memory_and_architecture_are_terraforms_defaults() -> None:
    # the estimate prices the router as deploy/terraform deploys it
    terraform = Path(__file__).resolve().parents[2] / "deploy" / "terraform"
    memory = re.search(
        r'variable "router_memory_mb" \{[^}]*default\s*=\s*(\d+)', (terraform / "lanes.tf").read_text()
    )
    arch = re.search(
        r'variable "architecture" \{[^}]*default\s*=\s*"(\w+)"', (terraform / "variables.tf").read_text()
    )
    assert memory and int(memory[1]) == router_cost.ROUTER_MEMORY_MB
    assert arch and arch[1] == router_cost.ROUTER_ARCHITECTURE == "arm64"  # the GB-s price is arm64's
