"""Worker settings: read from the environment once, validated once, passed down as values.

A wrong value stops the cold start with an error naming the variable, rather than failing
every record later with something obscure. Values that are each valid but cannot work together
(a record budget longer than the function timeout) are refused the same way, naming both.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Self

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.errors import ConfigError
from shared.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, DEFAULT_MAX_PIXELS, Limits
from shared.variants import DEFAULT_VARIANTS, VariantSpec, validate_variants

ENV_PREFIX = "IMGPIPE_"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# What the worker keeps for itself out of the function's memory (Python, libraries, clients,
# encoder buffers: ~200 MB resident at idle, measured); the rest is the decode budget. Without
# AWS_LAMBDA_FUNCTION_MEMORY_SIZE (outside Lambda) the budget assumes Terraform's default.
RUNTIME_RESERVE_MB = 256
DEFAULT_FUNCTION_MEMORY_MB = 2048
# The margin the worker keeps after its last record (worker.deadline.SAFETY_S; shared cannot
# import worker, so tests/unit/test_config_budget.py pins the two equal).
SAFETY_S = 0.5


def shortest_timeout_s(record_budget_ms: int) -> float:
    """The shortest function timeout in which a record with this budget can be started at all."""
    return record_budget_ms / 1000 + SAFETY_S


class Timing(BaseSettings):
    """The two settings that must agree: a record's budget and the invocation's timeout.

    On their own so that the CLI, which starts workers with a timeout, checks the budget the
    workers will read without needing the rest of their configuration.
    """

    # Empty values mean "the default": Terraform sets every variable, optional ones to "".
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", env_ignore_empty=True
    )

    record_budget_ms: int = Field(default=15_000, ge=100, description="time a record needs to be started")
    function_timeout_s: float | None = Field(
        default=None, ge=1, le=900, description="the function timeout; unchecked when unset"
    )

    @model_validator(mode="after")
    def _budget_fits_timeout(self) -> Self:
        timeout = self.function_timeout_s
        if timeout is not None and timeout < shortest_timeout_s(self.record_budget_ms):
            raise ValueError(
                f"{ENV_PREFIX}RECORD_BUDGET_MS={self.record_budget_ms} does not fit"
                f" {ENV_PREFIX}FUNCTION_TIMEOUT_S={timeout:g}: a record is started only with its budget"
                f" plus {SAFETY_S:g} s left, so none would ever start; raise the timeout to at least"
                f" {shortest_timeout_s(self.record_budget_ms):g} s or lower the budget"
            )
        return self


class Settings(Timing):
    """Everything the worker reads from `IMGPIPE_*` variables."""

    output_bucket: str = Field(description="bucket that receives variants and manifests")
    dlq_url: str | None = Field(default=None, description="queue that quarantines permanent failures")
    kms_key_id: str | None = Field(default=None, description="SSE-KMS key for outputs; SSE-S3 when unset")
    variants: Annotated[tuple[VariantSpec, ...], NoDecode] = DEFAULT_VARIANTS
    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    max_frames: int = Field(default=DEFAULT_MAX_FRAMES, ge=1)
    concurrency: int = Field(default=4, ge=1, le=64, description="records in flight per invocation")
    result_topic_arn: str | None = Field(default=None, description="SNS topic for ImageProcessed/ImageFailed")
    cache_control: str = "public, max-age=31536000, immutable"
    memory_budget_mb: int | None = Field(
        default=None, ge=64, description="decode memory all records in flight may use together"
    )
    # Set by `load_settings` from the function's memory when the budget is not given.
    _function_budget_mb: int = PrivateAttr(default=DEFAULT_FUNCTION_MEMORY_MB - RUNTIME_RESERVE_MB)

    @field_validator("output_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _BUCKET.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name")
        return value

    @field_validator("variants", mode="before")
    @classmethod
    def _variants_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
            if not isinstance(value, list):
                raise ValueError(f"must be a JSON list of variant specs, not a JSON {type(value).__name__}")
        return value

    @field_validator("variants")
    @classmethod
    def _variants_distinct(cls, value: tuple[VariantSpec, ...]) -> tuple[VariantSpec, ...]:
        return validate_variants(value)

    @property
    def limits(self) -> Limits:
        """The per-image limits the engine enforces."""
        return Limits(max_pixels=self.max_pixels, max_bytes=self.max_bytes, max_frames=self.max_frames)

    @property
    def memory_budget_bytes(self) -> int:
        """What the decodes in flight may use together: the override, else the function's memory
        less what the worker itself needs."""
        return (self.memory_budget_mb or self._function_budget_mb) * 2**20


class FunctionMemory(BaseSettings):
    """The function's memory as Lambda announces it; outside Lambda, Terraform's default."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)

    function_memory_mb: int = Field(
        default=DEFAULT_FUNCTION_MEMORY_MB, ge=128, validation_alias="AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
    )

    @model_validator(mode="after")
    def _leaves_a_budget(self) -> Self:
        if self.budget_mb < 64:
            raise ValueError(
                f"AWS_LAMBDA_FUNCTION_MEMORY_SIZE={self.function_memory_mb} leaves less than 64 MB for"
                f" decoding after the worker's own {RUNTIME_RESERVE_MB} MB; give the function more"
                f" memory or set {ENV_PREFIX}MEMORY_BUDGET_MB"
            )
        return self

    @property
    def budget_mb(self) -> int:
        """The decode budget this memory leaves."""
        return self.function_memory_mb - RUNTIME_RESERVE_MB


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the environment; raises `ConfigError` naming each bad variable."""
    try:
        settings = Settings(**overrides)
        if settings.memory_budget_mb is None:
            settings._function_budget_mb = FunctionMemory().budget_mb
        return settings
    except ValidationError as exc:
        raise ConfigError("invalid configuration: " + "; ".join(_problems(exc))) from exc


def load_timing(**overrides: Any) -> Timing:
    """Read and validate only the record budget and function timeout (see `Timing`)."""
    try:
        return Timing(**overrides)
    except ValidationError as exc:
        raise ConfigError("invalid configuration: " + "; ".join(_problems(exc))) from exc


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        if not error["loc"]:
            # A check across fields: its message names every variable involved.
            cause = error.get("ctx", {}).get("error")
            problems.append(str(cause) if cause is not None else error["msg"])
            continue
        name = str(error["loc"][0])
        # A field read from a standard variable (AWS_...) is named as it is, without our prefix.
        variable = f"{name if name.isupper() else ENV_PREFIX + name.upper()}{_path(error['loc'][1:])}"
        problems.append(
            f"{variable} is required" if error["type"] == "missing" else f"{variable}: {error['msg']}"
        )
    return problems


def _path(loc: tuple[int | str, ...]) -> str:
    # Where inside a structured value (IMGPIPE_VARIANTS) the problem is: [0].width, [2].bogus.
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
