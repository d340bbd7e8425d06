"""The API's S3 client: made once, SigV4 (S3 takes nothing else for SSE-KMS), and its signed URLs
name the bucket's own region on AWS and the emulator when AWS_ENDPOINT_URL points at one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from worker.api.aws import s3_client

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDUNIT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit-secret")
    s3_client.cache_clear()
    yield
    s3_client.cache_clear()


def test_the_client_is_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert s3_client() is s3_client()


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_on_aws_urls_name_the_buckets_region(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    monkeypatch.setenv("AWS_REGION", region)
    post = s3_client().generate_presigned_post("in-bucket", "uploads/alice/x.jpg")
    assert post["url"] == f"https://in-bucket.s3.{region}.amazonaws.com/"
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    get = s3_client().generate_presigned_url("get_object", Params={"Bucket": "out-bucket", "Key": "k"})
    assert get.startswith(f"https://out-bucket.s3.{region}.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256")


def test_an_emulator_is_reached_only_through_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4580")
    post = s3_client().generate_presigned_post("in-bucket", "uploads/alice/x.jpg")
    assert post["url"] == "http://127.0.0.1:4580/in-bucket"
