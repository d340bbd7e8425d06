"""What a worker process builds once, at cold start, and reuses for every invocation."""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import aioboto3

from shared.retries import standard_retries
from shared.settings import Settings, load_settings
from shared.variants import config_hash
from worker import engine
from worker.aws import AwsClients


@dataclass(frozen=True)
class Runtime:
    """Validated settings, the AWS clients and the thread pool that runs libvips."""

    settings: Settings
    config_hash: str
    aws: AwsClients
    executor: ThreadPoolExecutor


@functools.cache
def get_runtime() -> Runtime:
    """The process's runtime, built on first use; raises `ConfigError` naming a bad variable."""
    return build_runtime()


def build_runtime() -> Runtime:
    """A runtime of its own (clients, locks, pool): what one Lambda instance holds."""
    settings = load_settings()
    cores = os.cpu_count() or 1
    # One image per core, each on one libvips thread: a batch keeps every core busy without
    # oversubscribing it, and libvips releases the GIL while it works.
    engine.set_threads(1, encoders=cores)
    retries = standard_retries()
    connections = max(10, settings.concurrency * (len(settings.variants) + 2))
    # botocore reads only AWS_DEFAULT_REGION; Lambda and the contract also name AWS_REGION.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return Runtime(
        settings=settings,
        config_hash=config_hash(settings.variants),
        aws=AwsClients(settings.concurrency, connections, retries, aioboto3.Session(region_name=region)),
        executor=ThreadPoolExecutor(max_workers=cores, thread_name_prefix="vips"),
    )
