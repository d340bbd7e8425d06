"""The client API's role, held against the deployment's bucket and key policies as IAM decides.

The role is the API function's only grant, and a pre-signed URL or form is S3 acting as the role
that signed it: so what the role may do is what any user holding one of its signatures may do.
It must sign uploads under uploads/ only, with the encryption the input bucket demands; read
manifests and variants; list and delete a user's uploads and renders; write a deletion's
tombstone manifest; and nothing else (no other prefix, bucket, queue or topic).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from tests.policy import Principal, Request, decide, deployment
from tests.policy.arns import REGION, bucket_arn
from tests.policy.conformance import Caller, refusals, role
from tests.policy.deployment import Deployment
from tests.policy.post import length_range, uncovered, upload_wire

pytestmark = pytest.mark.unit

ON_AWS = {"aws:SecureTransport": "true"}
SSE = "x-amz-server-side-encryption"
KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"


@pytest.fixture(scope="module")
def dep() -> Deployment:
    return deployment()


@pytest.fixture(scope="module")
def api(dep: Deployment) -> Caller:
    return role(dep, "aws_iam_role.api.arn")


def allowed(dep: Deployment, who: Caller, action: str, resource: str, **context: str) -> bool:
    request = Request(who.principal, action, resource, {**ON_AWS, **context})
    return decide(request, dep.resource_policy(resource), who.identity).allowed


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


@pytest.mark.parametrize(
    ("bucket", "key", "may"),
    [
        ("input", "uploads/alice/img-1.jpg", True),
        ("input", "elsewhere/img-1.jpg", False),
        ("input", "uploadsx/img-1.jpg", False),
        ("output", "metadata/img-1/processing-info.json", True),  # a deletion's tombstone
        ("output", "processed/alice/img-1/r1/large.jpg", False),
        ("output", "sweep/state.json", False),
        ("logs", "s3/input/log", False),
    ],
)
def test_the_api_writes_only_uploads_and_tombstones(
    dep: Deployment, api: Caller, bucket: str, key: str, may: bool
) -> None:
    arn = bucket_arn(dep.value(f"module.{bucket}_bucket.id" if bucket != "logs" else "aws_s3_bucket.logs.id"))
    assert allowed(dep, api, "s3:PutObject", f"{arn}/{key}", **{f"s3:{SSE}": "aws:kms"}) is may


@pytest.mark.parametrize(
    ("bucket", "key", "may"),
    [
        ("input", "uploads/alice/img-1.jpg", True),
        ("input", "elsewhere/x", False),
        ("output", "metadata/img-1/processing-info.json", True),
        ("output", "processed/alice/img-1/r1/large.jpg", True),
        ("output", "sweep/state.json", False),
        ("logs", "cloudtrail/AWSLogs/x.json.gz", False),
        ("other", "anything", False),
    ],
)
def test_the_api_reads_uploads_manifests_and_variants_and_no_other_bucket(
    dep: Deployment, api: Caller, bucket: str, key: str, may: bool
) -> None:
    names = {
        "input": "module.input_bucket.id",
        "output": "module.output_bucket.id",
        "logs": "aws_s3_bucket.logs.id",
    }
    arn = bucket_arn(dep.value(names[bucket]) if bucket in names else "someone-elses-bucket")
    assert allowed(dep, api, "s3:GetObject", f"{arn}/{key}") is may


@pytest.mark.parametrize(
    ("bucket", "action", "prefix", "may"),
    [
        ("input", "s3:ListBucket", "uploads/alice/", True),
        ("input", "s3:ListBucketVersions", "uploads/alice/img-1.", True),
        ("input", "s3:ListBucket", "", False),
        ("output", "s3:ListBucket", "processed/alice/img-1/", True),
        # reading a missing manifest: S3 checks ListBucket with the key as the prefix (404, not 403)
        ("output", "s3:ListBucket", "metadata/img-1/processing-info.json", True),
        ("output", "s3:ListBucket", "sweep/", False),
        ("output", "s3:ListBucketVersions", "processed/alice/", False),
        ("logs", "s3:ListBucket", "cloudtrail/", False),
    ],
)
def test_the_api_lists_only_under_its_prefixes(
    dep: Deployment, api: Caller, bucket: str, action: str, prefix: str, may: bool
) -> None:
    names = {
        "input": "module.input_bucket.id",
        "output": "module.output_bucket.id",
        "logs": "aws_s3_bucket.logs.id",
    }
    assert allowed(dep, api, action, bucket_arn(dep.value(names[bucket])), **{"s3:prefix": prefix}) is may


def test_the_api_role_grants_exactly_what_presigning_reading_listing_and_deleting_need(
    dep: Deployment,
) -> None:
    # Given the role's statements, resolved
    (policy,) = dep.identity_policies[str(dep.value("aws_iam_role.api.arn"))]
    granted = sorted(
        (action, resource)
        for statement in policy.document["Statement"]
        for action in statement["Action"]
        for resource in statement["Resource"]
        if not action.startswith(("logs:", "xray:"))
    )
    inputs, outputs = (bucket_arn(dep.value(f"module.{b}_bucket.id")) for b in ("input", "output"))
    key = str(dep.value("aws_kms_key.main.arn"))
    # Then it is this list and nothing more: no wildcard action, no queue, topic or other bucket
    assert granted == sorted([
        ("s3:PutObject", f"{inputs}/uploads/*"),
        ("s3:GetObject", f"{inputs}/uploads/*"),
        ("s3:ListBucket", inputs),
        ("s3:ListBucketVersions", inputs),
        ("s3:DeleteObject", f"{inputs}/uploads/*"),
        ("s3:DeleteObjectVersion", f"{inputs}/uploads/*"),
        ("s3:GetObject", f"{outputs}/metadata/*"),
        ("s3:GetObject", f"{outputs}/processed/*"),
        ("s3:PutObject", f"{outputs}/metadata/*"),
        ("s3:ListBucket", outputs),
        ("s3:DeleteObject", f"{outputs}/processed/*"),
        ("s3:DeleteObjectVersion", f"{outputs}/processed/*"),
        ("kms:Decrypt", key),
        ("kms:GenerateDataKey", key),
    ])  # fmt: skip
    # And every list grant carries its prefix condition
    lists = [s for s in policy.document["Statement"] if any(a.startswith("s3:List") for a in s["Action"])]
    assert all(set(s["Condition"]) == {"StringLike"} for s in lists)


def test_the_api_deletes_uploads_and_renders_but_never_a_manifest(dep: Deployment, api: Caller) -> None:
    inputs, outputs = (bucket_arn(dep.value(f"module.{b}_bucket.id")) for b in ("input", "output"))
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert allowed(dep, api, action, f"{inputs}/uploads/alice/img-1.jpg")
        assert allowed(dep, api, action, f"{outputs}/processed/alice/img-1/r1/large.jpg")
        assert not allowed(dep, api, action, f"{outputs}/metadata/img-1/processing-info.json")
        assert not allowed(dep, api, action, f"{inputs}/elsewhere/x")


def test_the_api_cannot_touch_the_queues_or_the_topic(dep: Deployment, api: Caller) -> None:
    for action, reference in [
        ("sqs:SendMessage", "aws_sqs_queue.work.arn"),
        ("sqs:ReceiveMessage", "aws_sqs_queue.dlq.arn"),
        ("sns:Publish", "aws_sns_topic.uploads.arn"),
    ]:
        assert not allowed(dep, api, action, str(dep.value(reference)))
    other = Principal("AWS", "arn:aws:iam::111122223333:role/someone-else")
    assert not decide(Request(other, "s3:PutObject", "arn:aws:s3:::x/uploads/a", ON_AWS), None).allowed
