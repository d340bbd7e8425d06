"""Lambda entry point of the scheduled sweep: `worker.sweep.handler(event, context)`.

Orphan renders (a run killed between its variant writes and its commit) are listed by no
manifest and would otherwise stay forever. An EventBridge schedule invokes this function from
the worker's own artifact; each invocation sweeps `processed/` a page at a time from where the
last one stopped (`worker.orphans`). Settings are validated at cold start, naming the variable.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import botocore.session
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from shared.observability import logger, metrics
from shared.retries import standard_retries
from worker import orphans
from worker.orphans.pages import READ_WORKERS
from worker.orphans.settings import SweepSettings, load_sweep_settings


@functools.cache
def sweep_settings() -> SweepSettings:
    """The validated settings, read once; `ConfigError` naming each bad variable."""
    return load_sweep_settings()


@functools.cache
def s3_client() -> Any:
    """One S3 client per process; endpoint and retries from the standard AWS variables."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    retries = standard_retries()
    config = Config(max_pool_connections=READ_WORKERS, retries=retries)
    return botocore.session.get_session().create_client("s3", region_name=region, config=config)


sweep_settings()  # at cold start: a misconfigured function fails its init, naming the variable


@metrics.log_metrics(raise_on_empty_metrics=False)
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Sweep from where the last invocation stopped until the end of `processed/` or the deadline."""
    settings = sweep_settings()
    return orphans.run(
        s3_client(),
        settings.output_bucket,
        settings.sweep_older_than_s,
        settings.sweep_page_keys,
        lambda: context.get_remaining_time_in_millis() / 1000,
        settings.kms_key_id,
    )
