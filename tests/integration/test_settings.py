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
    assert settings.function_timeout_s is None  # unset: nothing to check the budget against
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


@pytest.mark.parametrize("value", ["imgpipe-output\n", "imgpipe-output\r", "imgpipe-output "])
def test_output_bucket_with_trailing_whitespace_is_refused(env: pytest.MonkeyPatch, value: str) -> None:
    # Given a bucket name with a trailing newline (a `$` anchor would let it through)
    env.setenv("IMGPIPE_OUTPUT_BUCKET", value)
    # Then the cold start is refused, naming the variable
    with pytest.raises(ConfigError, match="IMGPIPE_OUTPUT_BUCKET"):
        load_settings()


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


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ('[{"name": "x", "width": -5}]', "IMGPIPE_VARIANTS[0].width: "),
        ('[{"name": "a"}, {"name": "b", "quality": 0}]', "IMGPIPE_VARIANTS[1].quality: "),
        ('[{"name": "x", "bogus": 1}]', "IMGPIPE_VARIANTS[0].bogus: Extra inputs"),
        ('{"name": "x"}', "must be a JSON list of variant specs, not a JSON dict"),
    ],
)
def test_a_bad_variant_field_is_named_with_its_place(env: pytest.MonkeyPatch, value: str, where: str) -> None:
    env.setenv("IMGPIPE_VARIANTS", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert where in str(caught.value)


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


@pytest.mark.parametrize(
    ("budget_ms", "timeout_s"), [("15000", "10"), ("15000", "15.4"), ("1000", "1")], ids=str
)
def test_budget_longer_than_the_timeout_names_both(
    env: pytest.MonkeyPatch, budget_ms: str, timeout_s: str
) -> None:
    # Given a record budget that, with the 0.5 s margin, does not fit the function timeout
    env.setenv("IMGPIPE_RECORD_BUDGET_MS", budget_ms)
    env.setenv("IMGPIPE_FUNCTION_TIMEOUT_S", timeout_s)
    # When the settings are loaded
    with pytest.raises(ConfigError) as caught:
        load_settings()
    # Then the one reason names both variables with their values, and no "?" for a missing field name
    message = str(caught.value)
    assert f"IMGPIPE_RECORD_BUDGET_MS={budget_ms}" in message
    assert f"IMGPIPE_FUNCTION_TIMEOUT_S={float(timeout_s):g}" in message
    assert "?" not in message and "Value error" not in message


@pytest.mark.parametrize(("budget_ms", "timeout_s"), [("15000", "15.5"), ("15000", "60"), ("500", "1")])
def test_budget_that_fits_the_timeout_loads(env: pytest.MonkeyPatch, budget_ms: str, timeout_s: str) -> None:
    env.setenv("IMGPIPE_RECORD_BUDGET_MS", budget_ms)
    env.setenv("IMGPIPE_FUNCTION_TIMEOUT_S", timeout_s)
    settings = load_settings()
    assert (settings.record_budget_ms, settings.function_timeout_s) == (int(budget_ms), float(timeout_s))


@pytest.mark.parametrize("value", ["0", "901", "soon"])
def test_invalid_function_timeout_is_named(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("IMGPIPE_FUNCTION_TIMEOUT_S", value)
    with pytest.raises(ConfigError, match="IMGPIPE_FUNCTION_TIMEOUT_S"):
        load_settings()


def test_cold_start_refuses_a_budget_that_does_not_fit(env: pytest.MonkeyPatch) -> None:
    env.setenv("IMGPIPE_FUNCTION_TIMEOUT_S", "10")
    with pytest.raises(
        ConfigError, match="IMGPIPE_RECORD_BUDGET_MS=15000 does not fit IMGPIPE_FUNCTION_TIMEOUT_S=10"
    ):
        get_runtime()
