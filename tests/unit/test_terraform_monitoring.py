"""The storage monitoring's Terraform: a trail of both data buckets' object events, request
metrics with 4xx/5xx alarms, a bucket-size alarm, and the API's 5xx alarm.

The trail is checked as CloudTrail will use it: its own requests (the logs bucket's ACL check,
writing log files, the data key) are held against the logs bucket's and the key's policies.
"""

from __future__ import annotations

from typing import Any

import hcl2
import pytest

from tests.policy import Principal, Request, decide, deployment
from tests.policy.arns import ACCOUNT, PARTITION, REGION, bucket_arn
from tests.policy.deployment import Deployment
from tests.policy.hcl import ROOT, clean

pytestmark = pytest.mark.unit

CLOUDTRAIL = Principal("Service", "cloudtrail.amazonaws.com")
ON_AWS = {"aws:SecureTransport": "true"}


@pytest.fixture(scope="module")
def dep() -> Deployment:
    return deployment()


def one(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def trail_requests(dep: Deployment, trail: str) -> list[Request]:
    """What CloudTrail asks when it delivers `trail`'s log files (as AWS documents it)."""
    logs = bucket_arn(dep.value("aws_s3_bucket.logs.id"))
    body = dep.tf["resource"]["aws_cloudtrail"]["storage"]
    prefix = dep.scope.resolve(body["s3_key_prefix"])
    source = {**ON_AWS, "aws:SourceArn": trail}
    log_file = f"{logs}/{prefix}/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2026/12/07/file.json.gz"
    key = str(dep.value("aws_kms_key.main.arn"))
    context = {**source, "kms:EncryptionContext:aws:cloudtrail:arn": trail}
    return [
        Request(CLOUDTRAIL, "s3:GetBucketAcl", logs, source),
        Request(
            CLOUDTRAIL, "s3:PutObject", log_file, {**source, "s3:x-amz-acl": "bucket-owner-full-control"}
        ),
        Request(CLOUDTRAIL, "kms:GenerateDataKey", key, context),
        Request(CLOUDTRAIL, "kms:DescribeKey", key, source),
    ]


def refused(dep: Deployment, requests: list[Request]) -> list[str]:
    verdicts = [(r, decide(r, dep.resource_policy(r.resource))) for r in requests]
    return [f"{r.action} {r.resource}: {v.reason}" for r, v in verdicts if not v.allowed]


def test_the_trail_records_both_data_buckets_object_events_with_validation_and_the_key(
    dep: Deployment,
) -> None:
    trail = dep.tf["resource"]["aws_cloudtrail"]["storage"]
    selector = one(trail["event_selector"])
    (data,) = selector["data_resource"]
    # Then every read and write of an object in either data bucket is recorded, and no management event
    assert data["type"] == "AWS::S3::Object"
    assert dep.scope.resolve(data["values"]) == [
        f"{bucket_arn(dep.value('module.input_bucket.id'))}/",
        f"{bucket_arn(dep.value('module.output_bucket.id'))}/",
    ]
    assert (selector["read_write_type"], selector["include_management_events"]) == ("All", False)
    # And into the logs bucket, encrypted with the key, each file's integrity provable
    assert trail["s3_bucket_name"] == "${aws_s3_bucket.logs.id}"
    assert trail["kms_key_id"] == "${aws_kms_key.main.arn}"
    assert trail["enable_log_file_validation"] is True
    assert trail["name"] == "${local.names.trail}"


def test_cloudtrail_may_deliver_the_trail_to_the_logs_bucket_and_no_other_trail_may(dep: Deployment) -> None:
    # Given the trail's ARN as AWS forms it from its name
    name = dep.value("local.names.trail")
    trail = f"arn:{PARTITION}:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}"
    assert dep.value("local.trail_arn") == trail
    # Then the logs bucket's and the key's policies let CloudTrail deliver it
    assert refused(dep, trail_requests(dep, trail)) == []
    # And a trail of another account or another name is refused every request
    stranger = f"arn:{PARTITION}:cloudtrail:{REGION}:999999999999:trail/{name}"
    assert len(refused(dep, trail_requests(dep, stranger))) == 4
    assert len(refused(dep, trail_requests(dep, f"{trail}-copy"))) == 4


def test_both_data_buckets_publish_request_metrics_for_the_whole_bucket(dep: Deployment) -> None:
    metrics = dep.tf["resource"]["aws_s3_bucket_metric"]["requests"]
    assert metrics["for_each"] == "${local.data_buckets}"
    assert dep.scope.resolve(dep.tf["locals"]["data_buckets"]) == {
        "input": dep.value("module.input_bucket.id"),
        "output": dep.value("module.output_bucket.id"),
    }
    assert metrics["name"] == "${local.request_metrics_filter}" and "filter" not in metrics
    assert dep.value("local.request_metrics_filter") == "EntireBucket"


def test_each_data_bucket_alarms_on_4xx_5xx_and_size(dep: Deployment) -> None:
    # Given the storage alarms, resolved
    alarms = dep.scope.resolve(dep.tf["locals"]["storage_alarms"])
    found = {
        (a["dimensions"]["BucketName"], a["metric"]): a for a in alarms.values()
    }  # one alarm per bucket and metric
    assert len(found) == len(alarms) == 6
    for bucket in (dep.value("module.input_bucket.id"), dep.value("module.output_bucket.id")):
        # Then the error alarms read the bucket's request metrics (its filter), every five minutes
        for metric in ("4xxErrors", "5xxErrors"):
            alarm = found[(bucket, metric)]
            assert alarm["dimensions"]["FilterId"] == "EntireBucket"
            assert (alarm["statistic"], alarm["period"]) == ("Sum", 300)
        # And the size alarm reads the daily storage metric
        size = found[(bucket, "BucketSizeBytes")]
        assert size["dimensions"]["StorageType"] == "StandardStorage"
        assert (size["period"], size["threshold"]) == (86400, dep.value("var.bucket_size_alarm_bytes"))
    thresholds = {k: v["threshold"] for k, v in dep.tf["locals"]["storage_alarms"].items()}
    assert thresholds["input-bucket-4xx"] == "${var.input_4xx_alarm_threshold}"
    assert thresholds["output-bucket-4xx"] == "${var.output_4xx_alarm_threshold}"
    assert (
        thresholds["input-bucket-5xx"]
        == thresholds["output-bucket-5xx"]
        == "${var.bucket_5xx_alarm_threshold}"
    )


def test_every_alarm_notifies_where_the_others_do(dep: Deployment) -> None:
    # Given every alarm resource (the pipeline's, the lanes' and the storage's)
    resources = dep.tf["resource"]["aws_cloudwatch_metric_alarm"]
    assert set(resources) == {"this", "lanes", "storage"}
    # Then both notify the alarm actions, and go back to OK there too
    for name, alarm in resources.items():
        assert alarm["alarm_actions"] == alarm["ok_actions"] == "${var.alarm_actions}", name
        assert alarm["treat_missing_data"] == "notBreaching", name
    storage = resources["storage"]
    assert storage["for_each"] == "${local.storage_alarms}"
    assert (storage["namespace"], storage["period"]) == ("AWS/S3", "${each.value.period}")


def test_the_api_answering_5xx_raises_an_alarm() -> None:
    with (ROOT / "alarms.tf").open() as handle:
        (alarms,) = [b["alarms"] for b in clean(hcl2.load(handle))["locals"] if "alarms" in b]
    alarm = alarms["api-5xx"]
    assert (alarm["namespace"], alarm["metric"]) == ("AWS/ApiGateway", "5xx")
    assert alarm["dimensions"] == {"ApiId": "${aws_apigatewayv2_api.client.id}"}
    assert alarm["threshold"] == "${var.api_5xx_alarm_threshold}"
