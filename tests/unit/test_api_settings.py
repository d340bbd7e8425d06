"""The client API's settings are read once and a wrong one is refused naming its variable."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from worker.api.settings import ApiSettings, load_api_settings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INPUT_BUCKET", "OUTPUT_BUCKET", "KMS_KEY_ID", "MAX_BYTES", "CORS_ORIGINS",
                 "UPLOAD_URL_TTL_S", "DOWNLOAD_URL_TTL_S"):  # fmt: skip
        monkeypatch.delenv(f"IMGPIPE_{name}", raising=False)
    monkeypatch.setenv("IMGPIPE_INPUT_BUCKET", "in-bucket")
    monkeypatch.setenv("IMGPIPE_OUTPUT_BUCKET", "out-bucket")


def test_the_defaults() -> None:
    settings = load_api_settings()
    assert settings == ApiSettings(input_bucket="in-bucket", output_bucket="out-bucket")
    assert (settings.upload_url_ttl_s, settings.download_url_ttl_s) == (900, 300)
    assert settings.kms_key_id is None and settings.cors_origins == ()
    assert settings.max_bytes == 50 * 1024 * 1024


def test_empty_values_mean_the_default_as_terraform_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_KMS_KEY_ID", "")
    monkeypatch.setenv("IMGPIPE_CORS_ORIGINS", "")
    assert load_api_settings().kms_key_id is None and load_api_settings().cors_origins == ()


def test_a_json_list_of_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGPIPE_CORS_ORIGINS", '["https://app.example.com", "http://localhost:5173"]')
    assert load_api_settings().cors_origins == ("https://app.example.com", "http://localhost:5173")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("IMGPIPE_INPUT_BUCKET", None, "IMGPIPE_INPUT_BUCKET is required"),
        ("IMGPIPE_OUTPUT_BUCKET", None, "IMGPIPE_OUTPUT_BUCKET is required"),
        (
            "IMGPIPE_INPUT_BUCKET",
            "Bad_Bucket",
            "IMGPIPE_INPUT_BUCKET: Value error, 'Bad_Bucket' is not a valid",
        ),
        (
            "IMGPIPE_UPLOAD_URL_TTL_S",
            "3601",
            "IMGPIPE_UPLOAD_URL_TTL_S: Input should be less than or equal to 3600",
        ),
        (
            "IMGPIPE_UPLOAD_URL_TTL_S",
            "0",
            "IMGPIPE_UPLOAD_URL_TTL_S: Input should be greater than or equal to 1",
        ),
        ("IMGPIPE_DOWNLOAD_URL_TTL_S", "x", "IMGPIPE_DOWNLOAD_URL_TTL_S: Input should be a valid integer"),
        ("IMGPIPE_MAX_BYTES", "0", "IMGPIPE_MAX_BYTES: Input should be greater than or equal to 1"),
        ("IMGPIPE_CORS_ORIGINS", "https://a.example", "IMGPIPE_CORS_ORIGINS: Value error, not valid JSON"),
        (
            "IMGPIPE_CORS_ORIGINS",
            '"https://a.example"',
            "IMGPIPE_CORS_ORIGINS: Value error, must be a JSON list",
        ),
        (
            "IMGPIPE_CORS_ORIGINS",
            '["https://a.example/app"]',
            "IMGPIPE_CORS_ORIGINS: Value error, ['https://a",
        ),
        ("IMGPIPE_CORS_ORIGINS", "[1]", "IMGPIPE_CORS_ORIGINS[0]: Input should be a valid string"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, message: str
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_api_settings()
    assert message in str(raised.value)
