"""What `imgpipe upload` puts on the wire, captured in botocore just before it is sent: the
SSE-KMS header the deployed bucket's policy requires on every PutObject (issue 19, item 4), the
key id when one is configured, the same encryption a pre-signed PUT asks a browser for, and the
content digest a re-run compares."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from deploy.cli import common
from deploy.cli import upload as upload_command
from tests.unit.fake_s3_wire import WireBucket
from tests.unit.test_cli import (
    aws_env,
    hermetic,  # noqa: F401  (autouse: tmp_path is the working folder, no AWS configuration)
    invoke,
    write_photo,
)

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

pytestmark = pytest.mark.unit

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b7e6c3e-1111-2222-3333-444455556666"
SSE_HEADERS = ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id")


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> WireBucket:
    """The CLI's own S3 client (as `clients()` builds it), answered by a bucket in botocore."""
    aws_env(monkeypatch, "http://127.0.0.1:9")  # never reached: the hook answers first
    wire = WireBucket()

    def hooked() -> tuple[S3Client, SQSClient]:
        s3, sqs = common.clients()
        return wire.attach(s3), sqs

    monkeypatch.setattr(upload_command, "clients", hooked)
    return wire


@pytest.mark.parametrize("kms_key", [None, KEY_ARN], ids=["no-key-configured", "IMGPIPE_KMS_KEY_ID"])
def test_every_put_asks_for_sse_kms_as_the_bucket_policy_requires(
    bucket: WireBucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kms_key: str | None
) -> None:
    # Given two photos, and the deployment's key configured or not
    if kms_key:
        monkeypatch.setenv("IMGPIPE_KMS_KEY_ID", kms_key)
    write_photo(tmp_path / "a.jpg", 64, 48)
    write_photo(tmp_path / "b.jpg", 48, 64)
    # When they are uploaded
    result = invoke("upload", "a.jpg", "b.jpg", "--json")
    assert result.exit_code == 0, result.output
    # Then each PutObject as sent carries `x-amz-server-side-encryption: aws:kms`, with the key id
    # header exactly when a key is configured (else S3 uses aws/s3, which the policy accepts)
    puts = bucket.puts()
    assert len(puts) == 2
    for put in puts:
        assert put["x-amz-server-side-encryption"] == "aws:kms"
        assert put.get("x-amz-server-side-encryption-aws-kms-key-id") == kms_key


def test_the_bulk_upload_and_the_presigned_put_ask_for_the_same_encryption(
    bucket: WireBucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given the deployment's key in the environment
    monkeypatch.setenv("IMGPIPE_KMS_KEY_ID", KEY_ARN)
    write_photo(tmp_path / "a.jpg")
    write_photo(tmp_path / "b.jpg")
    # When one file is uploaded, and a browser upload is signed
    assert invoke("upload", "a.jpg").exit_code == 0
    grant = json.loads(invoke("presign", "upload", "b.jpg").stdout)
    # Then both send the same SSE headers
    (put,) = bucket.puts()
    assert {h: put.get(h) for h in SSE_HEADERS} == {h: grant["headers"].get(h) for h in SSE_HEADERS}


def test_a_put_carries_the_digest_a_rerun_compares_and_s3_verifies(
    bucket: WireBucket, tmp_path: Path
) -> None:
    # Given a photo
    photo = write_photo(tmp_path / "a.jpg")
    digest = hashlib.sha256(photo.read_bytes()).digest()
    # When it is uploaded
    assert invoke("upload", "a.jpg").exit_code == 0
    # Then its SHA-256 is in its metadata (hex) and in the checksum header S3 checks the body against
    (put,) = bucket.puts()
    assert put["x-amz-meta-sha256"] == digest.hex()
    assert put["x-amz-checksum-sha256"] == base64.b64encode(digest).decode()
