"""Capturing what botocore sends and reading it as IAM does, with no socket: a `before-send` hook
registered after the recorder answers every request with an empty 200."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal, overload

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config

from tests.policy import Principal, deployment
from tests.policy.arns import ACCOUNT, REGION, key_arn
from tests.policy.capture import Recorder, Wire, recording
from tests.policy.conformance import presigned_request, signed_headers
from tests.policy.deployment import KEY_IDS
from tests.policy.wire import requests

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

pytestmark = pytest.mark.unit

ENDPOINT = "http://127.0.0.1:9"  # never reached: the canned answer comes first
NAMES = {
    "emu-in": "imgpipe-input-111122223333",
    "emu-dlq": "imgpipe-dlq",
    "emu-key": key_arn(KEY_IDS["main"]),
}
WHO = Principal("AWS", f"arn:aws:iam::{ACCOUNT}:role/someone")


class _Raw:
    def stream(self, *_: object, **__: object) -> Iterator[bytes]:
        yield b""

    def read(self, *_: object) -> bytes:
        return b""


def _ok(request: AWSPreparedRequest, **_: object) -> AWSResponse:
    return AWSResponse(request.url, 200, HTTPHeaders(), _Raw())


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    with recording(monkeypatch) as recorder:
        recorder.client = "test"
        yield recorder


@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
def client(service: Literal["s3", "sqs"]) -> S3Client | SQSClient:
    session = boto3.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name=REGION)
    made = session.client(service, endpoint_url=ENDPOINT, config=Config(signature_version="s3v4"))
    # botocore sends no request a before-send handler answers; its stubs type handlers as returning None
    made.meta.events.register("before-send", _ok)  # type: ignore[arg-type]
    return made


def read(wire: Wire) -> list[tuple[str, str, dict[str, str]]]:
    found = requests(wire, WHO, NAMES.__getitem__, deployment())
    return [(r.action, r.resource, dict(r.context)) for r in found]


def test_an_upload_without_the_header_has_no_encryption_key_in_its_context(recorder: Recorder) -> None:
    # Given two uploads, one relying on the bucket's default encryption, one asking for SSE-KMS
    s3 = client("s3")
    s3.put_object(Bucket="emu-in", Key="uploads/u/a b.jpg", Body=b"x")
    s3.put_object(
        Bucket="emu-in",
        Key="uploads/u/c.jpg",
        Body=b"x",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId="emu-key",
    )
    plain, kms = recorder.of("test")
    # Then the first has no s3:x-amz-server-side-encryption at all (absent, not empty)
    bucket = "arn:aws:s3:::imgpipe-input-111122223333"
    action, resource, context = read(plain)[0]
    assert (action, resource) == ("s3:PutObject", f"{bucket}/uploads/u/a b.jpg")
    assert context == {"aws:SecureTransport": "true"}
    # And the second carries both keys, the key named as the deployment names it
    assert read(kms)[0][2] == {
        "aws:SecureTransport": "true",
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": NAMES["emu-key"],
    }
    # And both ask KMS for a data key on the caller's behalf (the bucket's key, or the one named)
    assert [r[:2] for r in read(plain)[1:]] == [("kms:GenerateDataKey", NAMES["emu-key"])]


def test_a_batch_delete_is_one_delete_object_per_key(recorder: Recorder) -> None:
    client("s3").delete_objects(
        Bucket="emu-in", Delete={"Objects": [{"Key": "processed/a"}, {"Key": "processed/b"}], "Quiet": True}
    )
    (wire,) = recorder.of("test")
    assert [r[:2] for r in read(wire)] == [
        ("s3:DeleteObject", "arn:aws:s3:::imgpipe-input-111122223333/processed/a"),
        ("s3:DeleteObject", "arn:aws:s3:::imgpipe-input-111122223333/processed/b"),
    ]


def test_a_queue_send_names_the_queue_and_the_key_that_encrypts_it(recorder: Recorder) -> None:
    client("sqs").send_message(QueueUrl=f"{ENDPOINT}/000000000000/emu-dlq", MessageBody="{}")
    (wire,) = recorder.of("test")
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:imgpipe-dlq"
    assert [r[:2] for r in read(wire)] == [
        ("sqs:SendMessage", dlq),
        ("kms:GenerateDataKey", NAMES["emu-key"]),
        ("kms:Decrypt", NAMES["emu-key"]),
    ]


def test_a_name_outside_the_deployment_is_an_error(recorder: Recorder) -> None:
    client("s3").get_object(Bucket="somewhere-else", Key="k")
    (wire,) = recorder.of("test")
    with pytest.raises(KeyError, match="somewhere-else"):
        read(wire)


def test_a_presigned_put_requires_the_headers_its_signature_covers(recorder: Recorder) -> None:
    # Given a pre-signed PUT that signs the SSE header
    params = {
        "Bucket": "emu-in",
        "Key": "uploads/u/a.jpg",
        "ServerSideEncryption": "aws:kms",
        "ContentType": "image/jpeg",
    }
    url = client("s3").generate_presigned_url("put_object", Params=params, ExpiresIn=60)
    (signed,) = recorder.of("test")
    assert signed.presigned and signed_headers(url) == ["content-type", "x-amz-server-side-encryption"]
    # When a grant tells the browser all of them, one of them wrongly, or leaves one out
    right = {"Content-Type": "image/jpeg", "x-amz-server-side-encryption": "aws:kms"}
    wrong = {**right, "x-amz-server-side-encryption": "AES256"}
    # Then only the full, exact one is free of gaps, and the browser's request carries the header
    wire, gaps = presigned_request("test", {"url": url, "method": "PUT", "headers": right}, signed)
    assert gaps == [] and read(wire)[0][2]["s3:x-amz-server-side-encryption"] == "aws:kms"
    assert presigned_request("test", {"url": url, "method": "PUT", "headers": wrong}, signed)[1] != []
    left_out = {"url": url, "method": "PUT", "headers": {"Content-Type": "image/jpeg"}}
    assert presigned_request("test", left_out, signed)[1] == [
        "x-amz-server-side-encryption: signed as 'aws:kms', the grant says None"
    ]


def test_nothing_is_recorded_outside_a_client_label(recorder: Recorder) -> None:
    recorder.client = None
    client("s3").get_object(Bucket="emu-in", Key="k")
    assert recorder.wires == []
