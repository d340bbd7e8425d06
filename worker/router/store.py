"""The router's only contact with AWS: a HEAD of each upload, and SQS sends to the lanes and its DLQ.

Synchronous botocore, as the client API uses: a batch makes a handful of calls, and the router's
cold start is on every upload's path. Short timeouts: a HEAD that does not answer quickly is
treated as no mark (the tenant's rate still decides), never waited out.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.lanes import Lane, marked_lane
from shared.retries import standard_retries

log = logging.getLogger("imgpipe.router")
HEADS_AT_ONCE = 10  # a batch's HEADs go out together (SQS hands at most 10 per receive)
SEND_BATCH = 10  # SendMessageBatch takes at most 10 entries


@dataclass(frozen=True)
class Clients:
    """The router's S3 and SQS clients, made once per process."""

    s3: Any
    sqs: Any


@functools.cache
def clients() -> Clients:
    """Clients with the endpoint, region and retries from the standard AWS variables."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    session = botocore.session.get_session()
    retries = standard_retries()
    head = Config(
        signature_version="s3v4", retries=retries, connect_timeout=2, read_timeout=3,
        max_pool_connections=HEADS_AT_ONCE,
    )  # fmt: skip
    send = Config(retries=retries, connect_timeout=3, read_timeout=10)
    return Clients(
        session.create_client("s3", region_name=region, config=head),
        session.create_client("sqs", region_name=region, config=send),
    )


def read_mark(s3: Any, bucket: str, key: str) -> Lane | None:
    """The lane pinned on the upload, or None when it has none or the HEAD failed (logged)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        log.warning("HEAD %s failed (%s): routed by its tenant's rate", key, exc)
        return None
    return marked_lane(head.get("Metadata"))


def send_batch(sqs: Any, queue_url: str, entries: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Send `entries` (each with an `Id`) in batches of 10; {Id: reason} for each one not sent."""
    failed: dict[str, str] = {}
    for start in range(0, len(entries), SEND_BATCH):
        chunk = entries[start : start + SEND_BATCH]
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=list(chunk))
        except (ClientError, BotoCoreError) as exc:
            failed.update({entry["Id"]: f"{type(exc).__name__}: {exc}" for entry in chunk})
            continue
        done = {entry["Id"] for entry in response.get("Successful", [])}
        errors = {entry["Id"]: entry for entry in response.get("Failed", [])}
        for entry in chunk:
            if entry["Id"] in errors:
                error = errors[entry["Id"]]
                failed[entry["Id"]] = f"{error.get('Code')}: {error.get('Message', '')}"
            elif entry["Id"] not in done:
                failed[entry["Id"]] = "SendMessageBatch did not answer for it"
    return failed


def retry_later(sqs: Any, queue_url: str, handles: Sequence[tuple[str, int]]) -> None:
    """Make each (receipt handle, seconds) visible again after its seconds (best effort, logged)."""
    for start in range(0, len(handles), SEND_BATCH):
        chunk = handles[start : start + SEND_BATCH]
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
            for i, (handle, seconds) in enumerate(chunk)
        ]
        try:
            response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not shorten the retry of %d records (%s)", len(chunk), exc)
            continue
        if response.get("Failed"):
            log.warning("could not shorten the retry of %d records", len(response["Failed"]))


def send_one(sqs: Any, queue_url: str, body: str, attributes: dict[str, dict[str, Any]]) -> str | None:
    """SendMessage; None when sent, else the reason it was not."""
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes)
    except (ClientError, BotoCoreError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
