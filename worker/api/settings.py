"""The client API's settings: read from `IMGPIPE_*` once at cold start, refused naming the variable.

The API shares the worker's variable names where they mean the same thing (the buckets, the KMS
key, the byte limit) so one deployment configures both functions alike.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.errors import ConfigError
from shared.limits import DEFAULT_MAX_BYTES
from shared.settings import ENV_PREFIX, _problems

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ORIGIN = re.compile(r"\*|https?://[^/\s?#]+")
MAX_UPLOAD_URL_TTL_S = 3600  # a signed upload is good for an hour at most


class ApiSettings(BaseSettings):
    """Everything the client API reads from `IMGPIPE_*` variables."""

    # Empty values mean "the default": Terraform sets every variable, optional ones to "".
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", env_ignore_empty=True
    )

    input_bucket: str = Field(description="bucket that takes uploads (pre-signed POSTs)")
    output_bucket: str = Field(description="bucket with manifests and variants")
    kms_key_id: str | None = Field(
        default=None, description="SSE-KMS key uploads must use; aws/s3 when unset"
    )
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1, description="largest upload, in bytes")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="JSON list of origins browsers call from"
    )
    upload_url_ttl_s: int = Field(default=900, ge=1, le=MAX_UPLOAD_URL_TTL_S)
    download_url_ttl_s: int = Field(default=300, ge=1, le=3600)

    @field_validator("input_bucket", "output_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _BUCKET.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
            if not isinstance(value, list):
                raise ValueError('must be a JSON list of origins, e.g. ["https://app.example.com"]')
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [origin for origin in value if not _ORIGIN.fullmatch(origin)]
        if bad:
            raise ValueError(f"{bad!r}: an origin is scheme://host[:port] with no path, or *")
        return value


def load_api_settings(**overrides: Any) -> ApiSettings:
    """Read and validate the environment; raises `ConfigError` naming each bad variable."""
    try:
        return ApiSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError("invalid configuration: " + "; ".join(_problems(exc))) from exc
