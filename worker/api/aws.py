"""The client API's one S3 client: made on first use, kept for the life of the process.

Synchronous botocore (what boto3 wraps) rather than aioboto3: a request makes a handful of
calls, and aiohttp would only add to the cold start a user waits for. Endpoints come only from
the standard `AWS_ENDPOINT_URL`, retries from `AWS_RETRY_MODE`/`AWS_MAX_ATTEMPTS` (standard mode
by default). Signatures are SigV4: S3 refuses any other for SSE-KMS objects, and a pre-signed
POST signed with SigV2 could not pin the KMS key.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import botocore.session
from botocore.config import Config

from shared.retries import standard_retries

# Manifests of one listing page are read this many at a time (and the pool holds as many).
READERS = 8


@functools.cache
def s3_client() -> Any:
    """One S3 client per process; endpoint, region and retries from the standard AWS variables."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    retries = standard_retries()
    # On AWS, URLs name the bucket's own region (bucket.s3.REGION.amazonaws.com): left to itself,
    # botocore signs for the global endpoint, which redirects a new bucket's POSTs for a while.
    # An emulator keeps botocore's choice (path style for an IP address).
    addressing: Any = {} if os.environ.get("AWS_ENDPOINT_URL") else {"addressing_style": "virtual"}
    config = Config(
        signature_version="s3v4",
        s3=addressing,
        max_pool_connections=READERS,
        retries=retries,
        connect_timeout=3,
        read_timeout=10,
    )
    return botocore.session.get_session().create_client("s3", region_name=region, config=config)
