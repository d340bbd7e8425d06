"""The router's settings: read from `IMGPIPE_*` once at cold start, refused naming the variable.

On their own (not in `shared.settings.Settings`): the router needs none of the worker's image
settings, and Terraform gives each function exactly the variables its model names.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError
from shared.settings import ENV_PREFIX, _problems


class RouterSettings(BaseSettings):
    """What the router reads from `IMGPIPE_*` variables."""

    # Empty values mean "the default": Terraform sets every variable, optional ones to "".
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", env_ignore_empty=True
    )

    interactive_queue_url: str = Field(min_length=1, description="the interactive lane's queue")
    bulk_queue_url: str = Field(min_length=1, description="the bulk lane's queue")
    router_dlq_url: str = Field(min_length=1, description="where records the router cannot route go")
    queue_url: str | None = Field(
        default=None, description="the work queue the router consumes: failed records are retried sooner"
    )
    max_receive_count: int = Field(
        default=5, ge=1, le=1000, description="the work queue's maxReceiveCount: the last attempt quarantines"
    )
    router_bulk_per_minute: int = Field(
        default=30, ge=0, description="unmarked uploads a tenant may send a minute before bulk (0: off)"
    )
    router_read_lane: bool = Field(default=True, description="HEAD each upload for the lane the API pinned")
    router_fair_queues: bool = Field(
        default=True, description="send with MessageGroupId = tenant (SQS fair queues on AWS)"
    )
    router_retry_s: int = Field(
        default=10, ge=0, le=43200, description="how soon a record the router could not send is tried again"
    )


def load_router_settings(**overrides: Any) -> RouterSettings:
    """Read and validate the environment; raises `ConfigError` naming each bad variable."""
    try:
        return RouterSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError("invalid configuration: " + "; ".join(_problems(exc))) from exc
