"""The scheduled sweep's settings: read from `IMGPIPE_*` variables once, at cold start.

On their own (not in `shared.settings.Settings`) because the sweep needs none of the worker's
image settings, and Terraform gives each function exactly the variables its model names.
"""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError
from shared.settings import ENV_PREFIX

# A run commits within its invocation, at most Lambda's 15 minutes; a minute more covers the
# difference between this function's clock and S3's Last-Modified (whole seconds in listings).
# Terraform refuses a shorter sweep_older_than_s with the same number.
SHORTEST_OLDER_THAN_S = 960


class SweepSettings(BaseSettings):
    """What the sweep reads from `IMGPIPE_*` variables."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", env_ignore_empty=True
    )

    output_bucket: str = Field(min_length=3, description="bucket whose processed/ is swept")
    kms_key_id: str | None = Field(default=None, description="SSE-KMS key for the state object")
    sweep_older_than_s: int = Field(
        default=3600, ge=SHORTEST_OLDER_THAN_S, description="how old a render's newest object must be"
    )
    sweep_page_keys: int = Field(default=1000, ge=1, le=1000, description="objects listed per page")


def load_sweep_settings() -> SweepSettings:
    """Read and validate the environment; `ConfigError` naming each bad variable."""
    try:
        return SweepSettings()
    except ValidationError as exc:
        problems = [
            f"{ENV_PREFIX}{str(e['loc'][0]).upper()}"
            + (" is required" if e["type"] == "missing" else f": {e['msg']}")
            for e in exc.errors()
        ]
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from exc
