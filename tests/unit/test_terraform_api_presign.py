"""A pre-signed POST the client API would sign, held against S3's form rules and the deployment's
bucket and key policies.

The form is signed offline by boto3 as the API function's role signs it (SigV4, temporary
credentials); S3 takes it only when its signed policy covers every field, and then evaluates the
upload as an `s3:PutObject` by the role with the form's fields as condition keys: the input
bucket refuses it without `x-amz-server-side-encryption: aws:kms`. These are the fields the API's
upload form must carry for the bucket to accept it.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from tests.policy import deployment
from tests.policy.arns import REGION
from tests.policy.conformance import Caller, refusals, role
from tests.policy.deployment import Deployment
from tests.policy.post import length_range, uncovered, upload_wire

pytestmark = pytest.mark.unit

SSE = "x-amz-server-side-encryption"
KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"


@pytest.fixture(scope="module")
def dep() -> Deployment:
    return deployment()


@pytest.fixture(scope="module")
def api(dep: Deployment) -> Caller:
    return role(dep, "aws_iam_role.api.arn")


def presigned_post(
    dep: Deployment, key: str, fields: dict[str, str], bucket: str = ""
) -> tuple[str, dict[str, str]]:
    """A form signed offline (SigV4: botocore signs POST forms with the retired SigV2 unless told)
    with temporary credentials, as the API function's role signs it; each field given is also a
    condition, as the API must add them (boto3 does not)."""
    session = boto3.session.Session("AKIDEXAMPLE", "secret", "session-token", region_name=REGION)
    conditions: list[object] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", 1, int(dep.value("var.max_bytes"))])
    client = session.client("s3", config=Config(signature_version="s3v4"))
    post = client.generate_presigned_post(
        bucket or dep.value("module.input_bucket.id"),
        key,
        Fields=fields,
        Conditions=conditions,
        ExpiresIn=900,
    )
    return post["url"], post["fields"]


def what_the_api_sends(dep: Deployment) -> dict[str, str]:
    """The fields the API's upload form carries: the type, SSE-KMS with the deployment's key, and
    the original filename the worker reads from the upload's metadata."""
    return {
        "Content-Type": "image/jpeg",
        SSE: "aws:kms",
        KEY_ID: str(dep.value("aws_kms_key.main.arn")),
        "x-amz-meta-original-filename": "holiday photo.jpg",
    }


def test_a_form_the_api_signs_for_uploads_is_accepted_by_s3_the_bucket_and_the_key(
    dep: Deployment, api: Caller
) -> None:
    # Given a pre-signed POST for a user's upload, signed as the API's role
    url, fields = presigned_post(dep, "uploads/alice/img-1.jpg", what_the_api_sends(dep))
    # Then S3 takes the form (every field is signed) and bounds its size by the worker's limit
    assert uncovered(fields) == []
    assert length_range(fields) == (1, dep.value("var.max_bytes"))
    # And the upload, and the data key S3 asks KMS for on the role's behalf, are allowed
    wire = upload_wire("browser POST", url, fields)
    assert [str(r) for r in refusals([wire], api, str, dep)] == []
    # And without the role's own policy nothing would be: the role is the grant
    assert refusals([wire], Caller(api.principal), str, dep) != []


@pytest.mark.parametrize(("sent", "value"), [(SSE, None), (SSE, "AES256")], ids=["no-sse-field", "sse-s3"])
def test_a_form_without_sse_kms_is_refused_by_the_input_bucket(
    dep: Deployment, api: Caller, sent: str, value: str | None
) -> None:
    # Given the API's form with the encryption field left out, or asking for SSE-S3
    fields = {k: v for k, v in what_the_api_sends(dep).items() if k not in (sent, KEY_ID)}
    if value is not None:
        fields[sent] = value
    url, signed = presigned_post(dep, "uploads/alice/img-1.jpg", fields)
    # Then the bucket policy's Deny refuses the upload, whatever the role allows
    (refusal,) = refusals([upload_wire("browser POST", url, signed)], api, str, dep)
    assert refusal.verdict.sid == "DenyUnencryptedUploads"


def test_a_field_the_signed_policy_does_not_cover_makes_s3_refuse_the_form(dep: Deployment) -> None:
    # Given a form whose metadata field was added after signing
    _, fields = presigned_post(dep, "uploads/alice/img-1.jpg", what_the_api_sends(dep))
    fields["x-amz-meta-original-filename"] = "other.jpg"
    fields["x-amz-meta-extra"] = "1"
    # Then both are named
    assert len(uncovered(fields)) == 2
