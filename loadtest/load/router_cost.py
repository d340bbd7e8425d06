"""What the router adds to the bill per million uploads, from what a run measured (issue 23).

The hop through the router costs, per upload: its share of a router invocation (the request, and
the duration at the router's memory), the SQS requests of that invocation (the mapping's receive
and delete on the work queue, the sends to the lanes: the worker's own receive and delete moved
from the work queue to a lane, they are not added), and the HEAD of the upload when its tenant is
not already bulk by its rate. Left out: the mappings' empty polls when idle (per month, not per
upload), cold starts' init, CloudWatch Logs for the router's lines, X-Ray traces (the router has
active tracing; sampled), and the free tiers.

Prices: us-east-1 list prices from aws.amazon.com/lambda/pricing, /sqs/pricing and /s3/pricing as
of 2026-12-07 (read from copies of those pages dated March-June 2026: no live page from here).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

LAMBDA_ARM64_GB_S = 0.0000133334  # $ per GB-second, arm64, the first 7.5 billion GB-s a month
LAMBDA_REQUEST = 0.20 / 1e6  # $ per invocation
SQS_REQUEST = 0.40 / 1e6  # $ per standard-queue request, past the first million a month
SQS_CHUNK_BYTES = 64 * 1024  # each 64 KB of a call's payload is billed as one request
S3_HEAD = 0.0004 / 1000  # $ per HEAD (S3 Standard: "GET, SELECT, and all other requests")
ROUTER_MEMORY_MB = 256  # deploy/terraform/lanes.tf, router_memory_mb's default
ROUTER_ARCHITECTURE = "arm64"  # deploy/terraform/variables.tf, architecture's default
# An S3 ObjectCreated event as raw delivery hands it to the router is about 1.2 KB; 2 KB holds one
# with 128-character ids. The router's calls carry at most 10 of them.
EVENT_BYTES = 2 * 1024
PER = 1_000_000


def billed_ms(durations_ms: Iterable[float]) -> float:
    """What Lambda bills for these invocations: each one's duration rounded up to the millisecond."""
    return float(sum(math.ceil(ms) for ms in durations_ms))


def requests_per_call(messages: int = 10, bytes_each: int = EVENT_BYTES) -> int:
    """SQS requests one call of `messages` messages of `bytes_each` is billed as."""
    return max(1, math.ceil(messages * bytes_each / SQS_CHUNK_BYTES))


@dataclass(frozen=True)
class Usage:
    """What the router did over a run."""

    uploads: int  # records sent to a lane
    invocations: int
    billed_ms: float | None  # over the `reported` invocations with a REPORT line (None: no line)
    reported: int
    sqs_calls: int
    heads: int

    def each(self, amount: float) -> float:
        """`amount` over the run, per upload."""
        return amount / self.uploads if self.uploads else 0.0


@dataclass(frozen=True)
class Cost:
    """Dollars per million uploads, by what they pay for."""

    usage: Usage
    lambda_requests: float
    lambda_duration: float | None
    sqs: float
    s3_head: float

    @property
    def total(self) -> float:
        """All of it (the duration counted as 0 when it was not measured)."""
        return self.lambda_requests + (self.lambda_duration or 0.0) + self.sqs + self.s3_head

    def line(self) -> str:
        """`router_cost: $0.41 per million uploads (lambda .., sqs .., s3 HEAD ..) ...`."""
        usage = self.usage
        if self.lambda_duration is None or usage.billed_ms is None:
            duration = "duration not measured (no REPORT lines)"
        else:
            each_ms = usage.billed_ms / usage.reported
            duration = f"duration ${self.lambda_duration:.3f} at {each_ms:.0f} ms billed each"
        return (
            f"router_cost: ${self.total:.3f} per million uploads"
            f" (lambda ${self.lambda_requests:.3f} for {usage.each(usage.invocations):.3f} invocations"
            f" an upload + {duration}, {ROUTER_MEMORY_MB} MB {ROUTER_ARCHITECTURE};"
            f" sqs ${self.sqs:.3f} for {usage.each(usage.sqs_calls):.2f} requests an upload;"
            f" s3 HEAD ${self.s3_head:.3f} for {usage.each(usage.heads):.2f} an upload)"
            " at us-east-1 list prices of 2026-12"
        )


def estimate(usage: Usage, memory_mb: int = ROUTER_MEMORY_MB) -> Cost:
    """The router's cost per million uploads at this run's mix and batching."""
    invocations = usage.each(usage.invocations) * PER
    duration = None
    if usage.billed_ms is not None and usage.reported:
        gb_s = usage.billed_ms / usage.reported / 1000 * memory_mb / 1024
        duration = invocations * gb_s * LAMBDA_ARM64_GB_S
    return Cost(
        usage,
        lambda_requests=invocations * LAMBDA_REQUEST,
        lambda_duration=duration,
        sqs=usage.each(usage.sqs_calls) * PER * requests_per_call() * SQS_REQUEST,
        s3_head=usage.each(usage.heads) * PER * S3_HEAD,
    )
