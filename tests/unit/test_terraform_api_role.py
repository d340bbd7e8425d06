"""The client API's role, held against the deployment's bucket and key policies as IAM decides.

The role is the API function's only grant, and a pre-signed URL or form is S3 acting as the role
that signed it: so what the role may do is what any user holding one of its signatures may do.
It may read manifests and variants; list and delete a user's uploads and renders (every
version) and a deleted image's older manifest versions; write a deletion's tombstone manifest;
sign uploads under uploads/ only (test_terraform_api_presign holds a real form against the
policies); and nothing else: no other prefix, bucket, queue or topic.
"""

from __future__ import annotations

import pytest

from tests.policy import Principal, Request, decide, deployment
from tests.policy.arns import bucket_arn
from tests.policy.conformance import Caller, role
from tests.policy.deployment import Deployment

pytestmark = pytest.mark.unit

ON_AWS = {"aws:SecureTransport": "true"}
SSE = "x-amz-server-side-encryption"


@pytest.fixture(scope="module")
def dep() -> Deployment:
    return deployment()


@pytest.fixture(scope="module")
def api(dep: Deployment) -> Caller:
    return role(dep, "aws_iam_role.api.arn")


def bucket_of(dep: Deployment, which: str) -> str:
    """The ARN of the deployment's input, output or logs bucket, or of someone else's."""
    names = {
        "input": "module.input_bucket.id",
        "output": "module.output_bucket.id",
        "logs": "aws_s3_bucket.logs.id",
    }
    return bucket_arn(str(dep.value(names[which])) if which in names else "someone-elses-bucket")


def allowed(dep: Deployment, who: Caller, action: str, resource: str, **context: str) -> bool:
    request = Request(who.principal, action, resource, {**ON_AWS, **context})
    return decide(request, dep.resource_policy(resource), who.identity).allowed


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
    assert (
        allowed(dep, api, "s3:PutObject", f"{bucket_of(dep, bucket)}/{key}", **{f"s3:{SSE}": "aws:kms"})
        is may
    )


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
    assert allowed(dep, api, "s3:GetObject", f"{bucket_of(dep, bucket)}/{key}") is may


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
        ("output", "s3:ListBucketVersions", "processed/alice/img-1/", True),
        ("output", "s3:ListBucketVersions", "metadata/img-1/processing-info.json", True),
        ("output", "s3:ListBucketVersions", "sweep/", False),
        ("logs", "s3:ListBucket", "cloudtrail/", False),
    ],
)
def test_the_api_lists_only_under_its_prefixes(
    dep: Deployment, api: Caller, bucket: str, action: str, prefix: str, may: bool
) -> None:
    assert allowed(dep, api, action, bucket_of(dep, bucket), **{"s3:prefix": prefix}) is may


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
        ("s3:ListBucketVersions", outputs),
        ("s3:DeleteObject", f"{outputs}/processed/*"),
        ("s3:DeleteObjectVersion", f"{outputs}/processed/*"),
        ("s3:DeleteObjectVersion", f"{outputs}/metadata/*"),
        ("kms:Decrypt", key),
        ("kms:GenerateDataKey", key),
    ])  # fmt: skip
    # And every list grant carries its prefix condition
    lists = [s for s in policy.document["Statement"] if any(a.startswith("s3:List") for a in s["Action"])]
    assert all(set(s["Condition"]) == {"StringLike"} for s in lists)


def test_the_api_deletes_uploads_renders_and_old_manifest_versions_but_never_hides_a_manifest(
    dep: Deployment, api: Caller
) -> None:
    inputs, outputs = (bucket_arn(dep.value(f"module.{b}_bucket.id")) for b in ("input", "output"))
    manifest = f"{outputs}/metadata/img-1/processing-info.json"
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert allowed(dep, api, action, f"{inputs}/uploads/alice/img-1.jpg")
        assert allowed(dep, api, action, f"{outputs}/processed/alice/img-1/r1/large.jpg")
        assert not allowed(dep, api, action, f"{inputs}/elsewhere/x")
        assert not allowed(dep, api, action, f"{outputs}/sweep/state.json")
    # A manifest's older versions go by version id; a plain delete (a marker over the tombstone) never
    assert allowed(dep, api, "s3:DeleteObjectVersion", manifest)
    assert not allowed(dep, api, "s3:DeleteObject", manifest)


def test_the_api_cannot_touch_the_queues_or_the_topic(dep: Deployment, api: Caller) -> None:
    for action, reference in [
        ("sqs:SendMessage", "aws_sqs_queue.work.arn"),
        ("sqs:ReceiveMessage", "aws_sqs_queue.dlq.arn"),
        ("sns:Publish", "aws_sns_topic.uploads.arn"),
    ]:
        assert not allowed(dep, api, action, str(dep.value(reference)))
    other = Principal("AWS", "arn:aws:iam::111122223333:role/someone-else")
    assert not decide(Request(other, "s3:PutObject", "arn:aws:s3:::x/uploads/a", ON_AWS), None).allowed
