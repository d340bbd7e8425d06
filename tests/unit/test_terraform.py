"""The Terraform, read with python-hcl2 (no terraform binary, no AWS account needed).

Each test pins an invariant that, if broken, loses uploads or exposes data; and the names the
code and the infrastructure share are checked to come from one source.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

from deploy.local.topology import DLQ_RETENTION_S, QUEUE_RETENTION_S, QueueSettings
from shared.settings import ENV_PREFIX, SAFETY_S, Settings
from tests.policy.hcl import clean, load
from worker.orphans.settings import SHORTEST_OLDER_THAN_S, SweepSettings
from worker.orphans.state import STATE_KEY

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "terraform"


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load(ROOT)


@pytest.fixture(scope="module")
def bucket_module() -> dict[str, Any]:
    return load(ROOT / "modules" / "data_bucket")


def default(tf: dict[str, Any], name: str) -> Any:
    return tf["variable"][name]["default"]


def block(resource: dict[str, Any], name: str) -> dict[str, Any]:
    value = resource[name]
    found: dict[str, Any] = value[0] if isinstance(value, list) else value
    return found


def test_event_source_mapping_reports_partial_batch_failures(tf: dict[str, Any]) -> None:
    # Every mapping (the work queue's to the router, each lane's to the worker: lanes.tf)
    mappings = tf["resource"]["aws_lambda_event_source_mapping"]
    assert set(mappings) == {"work", "interactive", "bulk"}
    for mapping in mappings.values():
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    bulk = mappings["bulk"]
    assert bulk["batch_size"] == "${var.batch_size}"
    assert bulk["maximum_batching_window_in_seconds"] == "${var.batching_window_s}"
    assert block(bulk, "scaling_config")["maximum_concurrency"] == "${var.bulk_max_concurrency}"


def test_visibility_timeout_is_validated_against_timeout_and_window(tf: dict[str, Any]) -> None:
    variable = tf["variable"]["queue_visibility_timeout_s"]
    (validation,) = variable["validation"]
    condition = re.sub(r"\s+", " ", validation["condition"])
    assert condition == "${var.queue_visibility_timeout_s >= 6 * var.timeout_s + var.batching_window_s}"
    assert default(tf, "queue_visibility_timeout_s") >= 6 * default(tf, "timeout_s") + default(
        tf, "batching_window_s"
    )
    for lane in ("interactive", "bulk"):  # the worker's queues (the work queue is the router's)
        queue = tf["resource"]["aws_sqs_queue"][lane]
        assert queue["visibility_timeout_seconds"] == "${var.queue_visibility_timeout_s}"


def test_max_receive_count_is_at_least_five_and_redrives_to_the_dlq(tf: dict[str, Any]) -> None:
    assert default(tf, "max_receive_count") >= 5
    (validation,) = tf["variable"]["max_receive_count"]["validation"]
    assert "var.max_receive_count >= 5" in validation["condition"]
    for lane in ("interactive", "bulk"):  # the work queue's own goes to the router's DLQ (lanes.tf)
        redrive = tf["resource"]["aws_sqs_queue"][lane]["redrive_policy"]
        assert "deadLetterTargetArn = aws_sqs_queue.dlq.arn" in redrive
        assert "maxReceiveCount = var.max_receive_count" in redrive


def test_dlq_keeps_messages_longer_than_the_work_queue(tf: dict[str, Any]) -> None:
    queues = tf["resource"]["aws_sqs_queue"]
    assert queues["dlq"]["message_retention_seconds"] > queues["work"]["message_retention_seconds"]


def test_only_the_input_bucket_notifies_and_only_for_uploads(tf: dict[str, Any]) -> None:
    notifications = tf["resource"]["aws_s3_bucket_notification"]
    assert list(notifications) == ["uploads"]
    notification = notifications["uploads"]
    assert notification["bucket"] == "${module.input_bucket.id}"
    (topic,) = notification["topic"]
    assert topic["filter_prefix"] == "uploads/"
    assert "filter_suffix" not in topic  # S3 suffixes are case-sensitive: `.JPG` would be missed
    assert topic["events"] == ["s3:ObjectCreated:*"]
    assert topic["topic_arn"] == "${aws_sns_topic.uploads.arn}"


def test_topic_accepts_only_the_input_bucket_and_queue_only_the_topic(tf: dict[str, Any]) -> None:
    documents = tf["data"]["aws_iam_policy_document"]
    (publish,) = documents["uploads_topic"]["statement"]
    assert publish["actions"] == ["sns:Publish"]
    assert {c["variable"]: c["values"] for c in publish["condition"]}["aws:SourceArn"] == [
        "${module.input_bucket.arn}"
    ]
    (send,) = documents["work_queue"]["statement"]
    assert send["actions"] == ["sqs:SendMessage"]
    assert send["condition"][0]["values"] == ["${aws_sns_topic.uploads.arn}"]
    subscription = tf["resource"]["aws_sns_topic_subscription"]["work"]
    assert subscription["raw_message_delivery"] is True


def test_every_bucket_blocks_public_access(tf: dict[str, Any], bucket_module: dict[str, Any]) -> None:
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    blocks = [
        bucket_module["resource"]["aws_s3_bucket_public_access_block"]["this"],
        tf["resource"]["aws_s3_bucket_public_access_block"]["logs"],
    ]
    assert all(b[flag] is True for b in blocks for flag in flags)
    assert {m["source"] for m in tf["module"].values()} == {"./modules/data_bucket"}
    assert set(tf["module"]) == {"input_bucket", "output_bucket"}


def test_data_is_encrypted_with_the_rotating_key(tf: dict[str, Any], bucket_module: dict[str, Any]) -> None:
    key = tf["resource"]["aws_kms_key"]["main"]
    assert key["enable_key_rotation"] is True
    sse = block(
        bucket_module["resource"]["aws_s3_bucket_server_side_encryption_configuration"]["this"], "rule"
    )
    assert block(sse, "apply_server_side_encryption_by_default")["sse_algorithm"] == "aws:kms"
    assert sse["bucket_key_enabled"] is True
    for queue in tf["resource"]["aws_sqs_queue"].values():
        assert queue["kms_master_key_id"] == "${aws_kms_key.main.arn}"
    assert tf["resource"]["aws_sns_topic"]["uploads"]["kms_master_key_id"] == "${aws_kms_key.main.arn}"


def test_buckets_refuse_plain_http_and_unencrypted_uploads(bucket_module: dict[str, Any]) -> None:
    statements = {s["sid"]: s for s in bucket_module["data"]["aws_iam_policy_document"]["this"]["statement"]}
    tls = statements["DenyInsecureTransport"]
    assert tls["effect"] == "Deny" and tls["condition"][0]["variable"] == "aws:SecureTransport"
    sse = statements["DenyUnencryptedUploads"]
    assert sse["effect"] == "Deny" and sse["actions"] == ["s3:PutObject"]
    assert sse["condition"][0] == {
        "test": "StringNotEquals",
        "variable": "s3:x-amz-server-side-encryption",
        "values": ["aws:kms"],
    }


def test_worker_role_has_no_wildcard_actions_on_data(tf: dict[str, Any]) -> None:
    statements = tf["data"]["aws_iam_policy_document"]["worker"]["statement"]
    for statement in statements:
        assert all("*" not in action for action in statement["actions"]), statement["sid"]
        if any(a.split(":")[0] in ("s3", "sqs", "kms", "sns", "logs") for a in statement["actions"]):
            assert "*" not in statement["resources"], statement["sid"]
    by_sid = {s["sid"]: s for s in statements}
    assert by_sid["ReadUploads"]["resources"] == ["${module.input_bucket.arn}/uploads/*"]
    assert by_sid["QuarantineToDlq"]["actions"] == ["sqs:SendMessage"]
    assert by_sid["QuarantineToDlq"]["resources"] == ["${aws_sqs_queue.dlq.arn}"]


def test_worker_may_delete_variants_but_nothing_else(tf: dict[str, Any]) -> None:
    # Given the worker role's statements
    statements = tf["data"]["aws_iam_policy_document"]["worker"]["statement"]
    # When the ones that may delete are picked out
    deleting = [s for s in statements if any("Delete" in a for a in s["actions"] if a.startswith("s3:"))]
    # Then one statement deletes (current versions only) and only under processed/ of the output bucket
    assert [(s["actions"], s["resources"]) for s in deleting] == [
        (["s3:DeleteObject"], ["${module.output_bucket.arn}/processed/*"])
    ]
    # And reads and writes stay as they were
    by_sid = {s["sid"]: s for s in statements}
    assert by_sid["WriteResults"]["actions"] == ["s3:GetObject", "s3:PutObject"]
    assert by_sid["WriteResults"]["resources"] == [
        "${module.output_bucket.arn}/processed/*",
        "${module.output_bucket.arn}/metadata/*",
    ]


def test_output_bucket_expires_what_deletes_and_replacements_leave(
    tf: dict[str, Any], bucket_module: dict[str, Any]
) -> None:
    # Given the output bucket is versioned, so a delete or a replacement leaves a noncurrent version
    versioning = bucket_module["resource"]["aws_s3_bucket_versioning"]["this"]
    assert block(versioning, "versioning_configuration")["status"] == "Enabled"
    # When its lifecycle rules are read
    lifecycle = tf["resource"]["aws_s3_bucket_lifecycle_configuration"]["output"]
    assert lifecycle["bucket"] == "${module.output_bucket.id}"
    rules = {rule["id"]: rule for rule in lifecycle["rule"]}
    # Then an enabled rule over the whole bucket (so processed/ too) expires noncurrent versions
    # and the delete markers left alone once they have gone
    expiring = [r for r in rules.values() if "noncurrent_version_expiration" in r]
    (rule,) = expiring
    assert rule["status"] == "Enabled"
    assert block(rule, "filter") == {}
    assert 1 <= block(rule, "noncurrent_version_expiration")["noncurrent_days"] <= 30
    assert block(rule, "expiration") == {"expired_object_delete_marker": True}


def test_alarms_watch_dlq_backlog_errors_and_throttles(tf: dict[str, Any]) -> None:
    text = (ROOT / "alarms.tf").read_text()
    for metric in (
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Throttles",
    ):
        assert f'metric     = "{metric}"' in text


def test_terraform_sets_exactly_the_settings_models_variables(tf: dict[str, Any]) -> None:
    function = tf["resource"]["aws_lambda_function"]["worker"]
    variables = block(function, "environment")["variables"]
    imgpipe = {name for name in variables if name.startswith(ENV_PREFIX)}
    assert imgpipe == {f"{ENV_PREFIX}{field.upper()}" for field in Settings.model_fields}
    assert function["handler"] == "worker.handler.handler"
    assert function["runtime"] == "python3.12"


def test_worker_is_told_its_timeout(tf: dict[str, Any]) -> None:
    # Given the function's environment
    function = tf["resource"]["aws_lambda_function"]["worker"]
    variables = block(function, "environment")["variables"]
    # Then the worker sees the timeout it runs under and the budget, both from the variables
    assert function["timeout"] == "${var.timeout_s}"
    assert variables[f"{ENV_PREFIX}FUNCTION_TIMEOUT_S"] == "${tostring(var.timeout_s)}"
    assert variables[f"{ENV_PREFIX}RECORD_BUDGET_MS"] == "${tostring(var.record_budget_ms)}"


def test_a_budget_that_does_not_fit_the_timeout_is_refused_at_plan_time(tf: dict[str, Any]) -> None:
    # Given the record budget's validations
    validations = tf["variable"]["record_budget_ms"]["validation"]
    conditions = [re.sub(r"\s+", " ", v["condition"]) for v in validations]
    # Then one compares it with the timeout using the worker's own safety margin
    fits = f"${{var.record_budget_ms / 1000 + {SAFETY_S:g} <= var.timeout_s}}"
    assert fits in conditions
    message = validations[conditions.index(fits)]["error_message"]
    assert "record_budget_ms" in message and "timeout_s" in message
    # And the worker's lower bound is Terraform's too, and the defaults fit each other
    assert "${var.record_budget_ms >= 100}" in conditions
    assert Settings.model_fields["record_budget_ms"].metadata[0].ge == 100
    assert default(tf, "record_budget_ms") / 1000 + SAFETY_S <= default(tf, "timeout_s")


def test_local_stack_queue_settings_equal_terraform_defaults(tf: dict[str, Any]) -> None:
    local = QueueSettings()
    assert local.function_timeout_s == default(tf, "timeout_s")
    assert local.batching_window_s == default(tf, "batching_window_s")
    assert local.visibility_timeout_s == default(tf, "queue_visibility_timeout_s")
    assert local.max_receive_count == default(tf, "max_receive_count")
    assert local.batch_size == default(tf, "batch_size")
    queues = tf["resource"]["aws_sqs_queue"]
    assert queues["dlq"]["message_retention_seconds"] == DLQ_RETENTION_S
    assert queues["work"]["message_retention_seconds"] == QUEUE_RETENTION_S


def test_worker_defaults_equal_the_settings_defaults(tf: dict[str, Any]) -> None:
    fields = Settings.model_fields
    assert default(tf, "max_pixels") == fields["max_pixels"].default
    assert default(tf, "max_bytes") == fields["max_bytes"].default
    assert default(tf, "max_frames") == fields["max_frames"].default
    assert default(tf, "worker_concurrency") == fields["concurrency"].default
    assert default(tf, "cache_control") == fields["cache_control"].default
    assert default(tf, "record_budget_ms") == fields["record_budget_ms"].default


def test_unsafe_visibility_timeout_is_refused_locally_too() -> None:
    with pytest.raises(ValueError, match="below 6 x function timeout"):
        QueueSettings(function_timeout_s=60, batching_window_s=1, visibility_timeout_s=300)


@pytest.mark.parametrize(
    ("batch_size", "window_s", "refused"), [(11, 0, True), (10, 0, False), (11, 1, False)]
)
def test_a_batch_lambda_refuses_is_refused_locally_too(batch_size: int, window_s: int, refused: bool) -> None:
    # Given the queue settings of a local stack (as Terraform's variables give them)
    def make() -> QueueSettings:
        return QueueSettings(batching_window_s=window_s, visibility_timeout_s=400, batch_size=batch_size)

    # Then over 10 records without a batching window is refused, as Lambda's CreateEventSourceMapping does
    if refused:
        with pytest.raises(ValueError, match="batching window of at least 1 s"):
            make()
    else:
        assert make().batch_size == batch_size


def test_dev_environment_uses_the_module_with_the_packaged_artifact() -> None:
    env = load(ROOT / "envs" / "dev")
    module = env["module"]["imgpipe"]
    assert module["source"] == "../.."
    assert module["package_path"].endswith("dist/imgpipe-lambda-arm64.zip}") or module[
        "package_path"
    ].endswith("dist/imgpipe-lambda-arm64.zip")
    assert json.dumps(module).count("arm64") >= 2


def test_a_batch_above_ten_without_a_batching_window_is_refused_at_plan_time(tf: dict[str, Any]) -> None:
    # Given the batch size's validations (Lambda's CreateEventSourceMapping refuses an SQS
    # BatchSize above 10 unless MaximumBatchingWindowInSeconds is at least 1)
    validations = tf["variable"]["batch_size"]["validation"]
    conditions = [re.sub(r"\s+", " ", v["condition"]) for v in validations]
    # Then one refuses exactly that combination, naming both variables
    rule = "${var.batch_size <= 10 || var.batching_window_s >= 1}"
    assert rule in conditions
    message = validations[conditions.index(rule)]["error_message"]
    assert "batch_size" in message and "batching_window_s" in message
    # And the defaults pass it
    assert default(tf, "batch_size") <= 10 or default(tf, "batching_window_s") >= 1


def sweep_function(tf: dict[str, Any]) -> dict[str, Any]:
    return dict(tf["resource"]["aws_lambda_function"]["sweep"])


def test_the_sweep_runs_from_the_worker_artifact_with_exactly_its_settings(tf: dict[str, Any]) -> None:
    # Given the sweep function beside the worker
    sweep, worker = sweep_function(tf), tf["resource"]["aws_lambda_function"]["worker"]
    variables = block(sweep, "environment")["variables"]
    # Then it is the same artifact with another entry point, told exactly what its settings model reads
    for same in ("filename", "source_code_hash", "runtime", "architectures", "kms_key_arn"):
        assert sweep[same] == worker[same], same
    assert sweep["handler"] == "worker.sweep.handler"
    imgpipe = {name for name in variables if name.startswith(ENV_PREFIX)}
    assert imgpipe == {f"{ENV_PREFIX}{field.upper()}" for field in SweepSettings.model_fields}
    assert variables[f"{ENV_PREFIX}OUTPUT_BUCKET"] == "${module.output_bucket.id}"
    assert variables[f"{ENV_PREFIX}SWEEP_OLDER_THAN_S"] == "${tostring(var.sweep_older_than_s)}"
    # And one runs at a time, within its own timeout
    assert sweep["reserved_concurrent_executions"] == 1
    assert sweep["timeout"] == "${var.sweep_timeout_s}"
    assert block(sweep, "tracing_config")["mode"] == "Active"


def test_the_sweep_never_takes_a_render_a_run_could_still_commit(tf: dict[str, Any]) -> None:
    # Given the minimum age's validation
    (validation,) = tf["variable"]["sweep_older_than_s"]["validation"]
    # Then Terraform's floor is the function's own (the longest run plus a minute), and the
    # default is the settings model's
    assert validation["condition"] == f"${{var.sweep_older_than_s >= {SHORTEST_OLDER_THAN_S}}}"
    assert SHORTEST_OLDER_THAN_S >= 900 + 60
    assert default(tf, "sweep_older_than_s") == SweepSettings.model_fields["sweep_older_than_s"].default
    assert default(tf, "sweep_older_than_s") >= SHORTEST_OLDER_THAN_S


def test_the_sweep_role_lists_reads_manifests_and_deletes_only_variants(tf: dict[str, Any]) -> None:
    # Given the sweep role's statements
    statements = tf["data"]["aws_iam_policy_document"]["sweep"]["statement"]
    for statement in statements:
        assert all("*" not in action for action in statement["actions"]), statement["sid"]
    s3 = sorted(
        (action, resource)
        for s in statements
        for action in s["actions"]
        if action.startswith("s3:")
        for resource in s["resources"]
    )
    output = "${module.output_bucket.arn}"
    state_prefix = STATE_KEY.split("/", 1)[0]
    # Then it lists the output bucket, reads manifests, keeps its place, and deletes under processed/ only
    assert s3 == sorted([
        ("s3:ListBucket", output),
        ("s3:GetObject", f"{output}/metadata/*"),
        ("s3:GetObject", f"{output}/{state_prefix}/*"),
        ("s3:PutObject", f"{output}/{state_prefix}/*"),
        ("s3:DeleteObject", f"{output}/processed/*"),
    ])  # fmt: skip
    assert state_prefix not in ("processed", "metadata", "uploads")
    role = tf["resource"]["aws_iam_role_policy"]["sweep"]
    assert role["role"] == "${aws_iam_role.sweep.id}"
    assert sweep_function(tf)["role"] == "${aws_iam_role.sweep.arn}"


def test_a_schedule_invokes_the_sweep_with_a_role_that_may_do_only_that(tf: dict[str, Any]) -> None:
    # Given the schedule
    schedule = tf["resource"]["aws_scheduler_schedule"]["sweep"]
    target = block(schedule, "target")
    # Then it invokes the sweep function on the configured schedule, encrypted with the data key
    assert target["arn"] == "${aws_lambda_function.sweep.arn}"
    assert schedule["schedule_expression"] == "${var.sweep_schedule}"
    assert default(tf, "sweep_schedule").startswith(("rate(", "cron("))
    assert schedule["kms_key_arn"] == "${aws_kms_key.main.arn}"
    # And its role may invoke that function and read the payload, nothing else
    assert target["role_arn"] == "${aws_iam_role.sweep_schedule.arn}"
    statements = tf["data"]["aws_iam_policy_document"]["sweep_schedule"]["statement"]
    assert sorted((a, r) for s in statements for a in s["actions"] for r in s["resources"]) == [
        ("kms:Decrypt", "${aws_kms_key.main.arn}"),
        ("lambda:InvokeFunction", "${aws_lambda_function.sweep.arn}"),
    ]
    assume = tf["data"]["aws_iam_policy_document"]["assume_scheduler"]["statement"][0]
    assert block(assume, "principals")["identifiers"] == ["scheduler.amazonaws.com"]
    # And a failed run is left to the next one rather than retried at once
    invoke = tf["resource"]["aws_lambda_function_event_invoke_config"]["sweep"]
    assert invoke["maximum_retry_attempts"] == 0


def test_the_sweep_logs_are_encrypted_and_its_errors_raise_an_alarm(tf: dict[str, Any]) -> None:
    # Given the sweep's log group and the alarms
    group = tf["resource"]["aws_cloudwatch_log_group"]["sweep"]
    with (ROOT / "alarms.tf").open() as handle:
        (alarms,) = [b["alarms"] for b in clean(hcl2.load(handle))["locals"] if "alarms" in b]
    # Then its logs use the key, which lets CloudWatch Logs encrypt that group too
    assert group["name"] == "/aws/lambda/${local.names.sweep}"
    assert group["kms_key_id"] == "${aws_kms_key.main.arn}"
    assert "/aws/lambda/${local.names.sweep}" in (ROOT / "kms.tf").read_text()
    # And any failed invocation (including one that kept what it could not judge) alarms
    alarm = alarms["sweep-errors"]
    assert (alarm["namespace"], alarm["metric"], alarm["threshold"]) == ("AWS/Lambda", "Errors", 0)
    assert alarm["dimensions"] == {"FunctionName": "${aws_lambda_function.sweep.function_name}"}
