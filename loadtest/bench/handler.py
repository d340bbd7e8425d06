"""End-to-end figures for `make bench`: images/s through `worker.handler.handler` against a moto
server, and the same work done by the engine alone on the same threads, for the ratio.

Runs inside a bench child process; the moto server is a separate process, as in the local stack.
Uploads and queue draining are setup, not timed: the clock runs only around handler calls.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from shared.variants import VariantSpec

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient
    from types_boto3_sqs.type_defs import MessageTypeDef

BATCH_SIZE = 10


def engine_parallel(inputs: list[bytes], specs: tuple[VariantSpec, ...]) -> list[float]:
    """Every variant of `specs` over `inputs`, one image per core as the worker runs it; one wall time."""
    from worker import engine

    engine.set_threads(1, encoders=os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda data: engine.render(data, specs), inputs[:1]))  # warm-up
        started = time.perf_counter()
        list(pool.map(lambda data: engine.render(data, specs), inputs))
        return [time.perf_counter() - started]


def through_handler(files: list[Path], specs: tuple[VariantSpec, ...]) -> list[float]:
    """Upload `files`, then time the handler making `specs` over batches of 10; one wall time per batch."""
    import boto3

    from deploy.local.esm import LocalContext, lambda_event
    from deploy.local.motoserver import MotoServer
    from deploy.local.topology import provision

    with MotoServer() as server:
        os.environ.update(server.environment())
        session = boto3.Session(region_name=server.region)
        topology = provision(session, prefix="bench")
        os.environ.update(
            IMGPIPE_OUTPUT_BUCKET=topology.output_bucket,
            IMGPIPE_DLQ_URL=topology.dlq_url,
            IMGPIPE_VARIANTS=json.dumps([s.model_dump(mode="json", exclude_defaults=True) for s in specs]),
            LAMBDA_TASK_ROOT="/tmp",
        )
        s3, sqs = session.client("s3"), session.client("sqs")
        _upload(s3, topology.input_bucket, [files[0]], "warmup", prefix="warmup_")
        _upload(s3, topology.input_bucket, files, "bench")
        messages = _drain(sqs, topology.queue_url, len(files) + 1)
        from worker.handler import handler

        warmup = [m for m in messages if "uploads%2Fwarmup%2F" in m["Body"]]
        rest = [m for m in messages if m not in warmup]
        handler(lambda_event(warmup, topology.queue_arn, server.region), LocalContext(900))
        seconds = []
        for start in range(0, len(rest), BATCH_SIZE):
            event = lambda_event(rest[start : start + BATCH_SIZE], topology.queue_arn, server.region)
            started = time.perf_counter()
            response = handler(event, LocalContext(900))
            seconds.append(time.perf_counter() - started)
            if response["batchItemFailures"]:
                raise SystemExit(f"bench: handler reported failures: {response['batchItemFailures']}")
        return seconds


def _upload(s3: S3Client, bucket: str, files: list[Path], user: str, prefix: str = "img_") -> None:
    for index, path in enumerate(files):
        s3.put_object(
            Bucket=bucket, Key=f"uploads/{user}/{prefix}{index}{path.suffix.lower()}", Body=path.read_bytes()
        )


def _drain(sqs: SQSClient, queue_url: str, expected: int) -> list[MessageTypeDef]:
    messages: list[MessageTypeDef] = []
    deadline = time.monotonic() + 60
    while len(messages) < expected and time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        messages.extend(m for m in batch if "s3:TestEvent" not in m["Body"])
    if len(messages) < expected:
        raise SystemExit(f"bench: only {len(messages)} of {expected} upload events reached the queue")
    return messages
