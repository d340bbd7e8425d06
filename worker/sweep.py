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
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError
from shared.observability import logger, metrics
from shared.settings import ENV_PREFIX
from worker import orphans
from worker.orphans.pages import READ_WORKERS

# A run commits within its invocation, at most Lambda's 15 minutes; a minute more covers the
# clock difference between this function and S3's Last-Modified. Terraform checks the same floor.
SHORTEST_OLDER_THAN_S = 960


class SweepSettings(BaseSettings):
    """What the sweep reads from `IMGPIPE_*` variables."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", env_ignore_empty=True
    )

    output_bucket: str = Field(min_length=3, description="bucket whose processed/ is swept")
    kms_key_id: str | None = Field(default=None, description="SSE-KMS key for the state object")
    sweep_older_than_s: int = Field(
        default=3600, ge=SHORTEST_OLDER_THAN_S, description="age of a removable render"
    )
    sweep_page_keys: int = Field(default=1000, ge=1, le=1000, description="objects listed per page")


@functools.cache
def sweep_settings() -> SweepSettings:
    """The validated settings; `ConfigError` naming each bad variable."""
    try:
        return SweepSettings()
    except ValidationError as exc:
        problems = [f"{ENV_PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from exc


@functools.cache
def s3_client() -> Any:
    """One S3 client per process; endpoint and retries from the standard AWS variables."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    retries = None if {"AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"} & set(os.environ) else {"mode": "standard"}
    config = Config(max_pool_connections=READ_WORKERS, retries=retries)
    return botocore.session.get_session().create_client("s3", region_name=region, config=config)


sweep_settings()


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
