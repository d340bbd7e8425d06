"""A misconfigured worker fails its cold start with an error naming the variable."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from shared.errors import ConfigError
from shared.settings import load_settings
from worker.runtime import get_runtime

pytestmark = pytest.mark.integration

VALID = {"IMGPIPE_OUTPUT_BUCKET": "imgpipe-output"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith("IMGPIPE_"):
            monkeypatch.delenv(name)
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    get_runtime.cache_clear()
    yield monkeypatch
    get_runtime.cache_clear()


def test_valid_environment_loads(env: pytest.MonkeyPatch) -> None:
    env.setenv("IMGPIPE_CONCURRENCY", "8")
    env.setenv("IMGPIPE_VARIANTS", '[{"name": "thumb", "width": 100, "height": 100, "fit": "cover"}]')
    settings = load_settings()
    assert settings.output_bucket == "imgpipe-output"
    assert settings.concurrency == 8
    assert [(v.name, v.width, v.height, v.fit) for v in settings.variants] == [("thumb", 100, 100, "cover")]
    assert settings.record_budget_ms == 15_000
    assert settings.dlq_url is None and settings.kms_key_id is None


def test_missing_output_bucket_is_named(env: pytest.MonkeyPatch) -> None:
    env.delenv("IMGPIPE_OUTPUT_BUCKET")
    with pytest.raises(ConfigError, match="IMGPIPE_OUTPUT_BUCKET is required"):
        load_settings()


def test_invalid_output_bucket_name_is_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("IMGPIPE_OUTPUT_BUCKET", "Not_A_Bucket")
    with pytest.raises(ConfigError, match="IMGPIPE_OUTPUT_BUCKET") as caught:
        load_settings()
    assert "Not_A_Bucket" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        '[{"name": "thumb", "width": 100',  # not JSON
        "[]",  # no variant
        '[{"name": "a"}, {"name": "a"}]',  # repeated name
        '[{"name": "x", "fit": "cover"}]',  # cover without a box
        '[{"name": "x", "colour": "red"}]',  # unknown field
    ],
)
def test_invalid_variants_are_named(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("IMGPIPE_VARIANTS", value)
    with pytest.raises(ConfigError, match="IMGPIPE_VARIANTS"):
        load_settings()


def test_invalid_variants_json_says_why(env: pytest.MonkeyPatch) -> None:
    env.setenv("IMGPIPE_VARIANTS", "{oops")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "IMGPIPE_VARIANTS" in str(caught.value) and "not valid JSON" in str(caught.value)


@pytest.mark.parametrize("value", ["0", "-1", "65", "four"])
def test_invalid_concurrency_is_named(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("IMGPIPE_CONCURRENCY", value)
    with pytest.raises(ConfigError, match="IMGPIPE_CONCURRENCY"):
        load_settings()


def test_every_bad_variable_is_named_at_once(env: pytest.MonkeyPatch) -> None:
    env.delenv("IMGPIPE_OUTPUT_BUCKET")
    env.setenv("IMGPIPE_CONCURRENCY", "0")
    env.setenv("IMGPIPE_RECORD_BUDGET_MS", "5")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    for name in ("IMGPIPE_OUTPUT_BUCKET", "IMGPIPE_CONCURRENCY", "IMGPIPE_RECORD_BUDGET_MS"):
        assert name in message


def test_cold_start_fails_with_the_config_error(env: pytest.MonkeyPatch) -> None:
    env.setenv("IMGPIPE_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match="IMGPIPE_CONCURRENCY"):
        get_runtime()
