"""The lanes in Terraform (lanes.tf, docs/fairness.md), read with python-hcl2: the work queue feeds
the router, each lane the worker with its own maximum concurrency (the bulk lane capped so the
interactive one always has room), the router's role may do exactly its job, every queue has its
dead-letter queue and its alarm, and the local stack runs the same shape with the same defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from deploy.local.lanes import LanePlan
from deploy.local.topology import DLQ_RETENTION_S, QUEUE_RETENTION_S
from shared.settings import ENV_PREFIX
from tests.policy.hcl import load
from worker.router.settings import RouterSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "terraform"


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load(ROOT)


def one(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def default(tf: dict[str, Any], name: str) -> Any:
    return tf["variable"][name]["default"]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_work_queue_feeds_the_router_and_each_lane_the_worker(tf: dict[str, Any]) -> None:
    mappings = tf["resource"]["aws_lambda_event_source_mapping"]
    routes = {name: (m["event_source_arn"], m["function_name"]) for name, m in mappings.items()}
    assert routes == {
        "work": ("${aws_sqs_queue.work.arn}", "${aws_lambda_function.router.arn}"),
        "interactive": ("${aws_sqs_queue.interactive.arn}", "${aws_lambda_function.worker.arn}"),
        "bulk": ("${aws_sqs_queue.bulk.arn}", "${aws_lambda_function.worker.arn}"),
    }
    concurrency = {name: one(m["scaling_config"])["maximum_concurrency"] for name, m in mappings.items()}
    assert concurrency == {
        "work": "${var.router_max_concurrency}",
        "interactive": "${var.interactive_max_concurrency}",
        "bulk": "${var.bulk_max_concurrency}",
    }
    # No batching window where a photo someone waits for passes
    assert mappings["work"]["maximum_batching_window_in_seconds"] == 0
    assert mappings["interactive"]["maximum_batching_window_in_seconds"] == 0
    assert mappings["interactive"]["batch_size"] == "${var.interactive_batch_size}"


def test_the_bulk_lane_is_capped_so_the_interactive_lane_always_has_room(tf: dict[str, Any]) -> None:
    # Given the bulk lane's validations
    conditions = [squeeze(v["condition"]) for v in tf["variable"]["bulk_max_concurrency"]["validation"]]
    # Then both lanes together fit the worker's reserved concurrency, checked at plan time
    assert (
        "${var.bulk_max_concurrency + var.interactive_max_concurrency <= var.max_concurrency}" in conditions
    )
    worker = tf["resource"]["aws_lambda_function"]["worker"]
    assert worker["reserved_concurrent_executions"] == "${var.max_concurrency}"
    lanes = default(tf, "bulk_max_concurrency") + default(tf, "interactive_max_concurrency")
    assert lanes <= default(tf, "max_concurrency")
    assert min(default(tf, "bulk_max_concurrency"), default(tf, "interactive_max_concurrency")) >= 2


def test_terraform_gives_the_router_exactly_its_settings(tf: dict[str, Any]) -> None:
    router = tf["resource"]["aws_lambda_function"]["router"]
    variables = one(router["environment"])["variables"]
    imgpipe = {name for name in variables if name.startswith(ENV_PREFIX)}
    assert imgpipe == {f"{ENV_PREFIX}{field.upper()}" for field in RouterSettings.model_fields}
    assert router["handler"] == "worker.router.handler.handler"
    assert variables["IMGPIPE_QUEUE_URL"] == "${aws_sqs_queue.work.id}"
    assert variables["IMGPIPE_INTERACTIVE_QUEUE_URL"] == "${aws_sqs_queue.interactive.id}"
    assert variables["IMGPIPE_BULK_QUEUE_URL"] == "${aws_sqs_queue.bulk.id}"
    assert variables["IMGPIPE_ROUTER_DLQ_URL"] == "${aws_sqs_queue.router_dlq.id}"
    # its last attempt is the work queue's maxReceiveCount: it quarantines before SQS moves it
    assert variables["IMGPIPE_MAX_RECEIVE_COUNT"] == "${tostring(var.max_receive_count)}"
    assert router["reserved_concurrent_executions"] == "${var.router_max_concurrency}"


def test_every_queue_has_its_dead_letter_queue(tf: dict[str, Any]) -> None:
    queues = tf["resource"]["aws_sqs_queue"]
    targets = {name: squeeze(q["redrive_policy"]) for name, q in queues.items() if "redrive_policy" in q}
    assert {
        name: ("router_dlq" if "router_dlq.arn" in text else "dlq") for name, text in targets.items()
    } == {
        "work": "router_dlq",
        "interactive": "dlq",
        "bulk": "dlq",
    }
    allow = tf["resource"]["aws_sqs_queue_redrive_allow_policy"]
    assert "[aws_sqs_queue.interactive.arn, aws_sqs_queue.bulk.arn]" in squeeze(
        allow["dlq"]["redrive_allow_policy"]
    )
    assert "[aws_sqs_queue.work.arn]" in squeeze(allow["router_dlq"]["redrive_allow_policy"])
    # kept as long as the DLQ, and the lanes as long as the work queue: the local stack's figures
    assert queues["router_dlq"]["message_retention_seconds"] == DLQ_RETENTION_S
    assert queues["interactive"]["message_retention_seconds"] == QUEUE_RETENTION_S
    assert queues["bulk"]["message_retention_seconds"] == QUEUE_RETENTION_S
    for name in ("interactive", "bulk", "router_dlq"):
        assert queues[name]["kms_master_key_id"] == "${aws_kms_key.main.arn}", name


def test_the_work_queue_waits_out_the_routers_timeout(tf: dict[str, Any]) -> None:
    assert (
        tf["resource"]["aws_sqs_queue"]["work"]["visibility_timeout_seconds"]
        == "${local.work_queue_visibility_s}"
    )
    assert tf["locals"]["work_queue_visibility_s"] == "${6 * var.router_timeout_s}"
    assert tf["resource"]["aws_lambda_function"]["router"]["timeout"] == "${var.router_timeout_s}"


def test_the_router_may_do_its_job_and_nothing_else(tf: dict[str, Any]) -> None:
    statements = {s["sid"]: s for s in tf["data"]["aws_iam_policy_document"]["router"]["statement"]}
    assert set(statements) == {
        "WriteOwnLogs", "ConsumeWorkQueue", "SendToLanesAndItsDlq", "ReadUploadMarks", "UseTheDataKey",
        "XRayTraces",
    }  # fmt: skip
    assert statements["ConsumeWorkQueue"]["resources"] == ["${aws_sqs_queue.work.arn}"]
    assert statements["SendToLanesAndItsDlq"]["actions"] == ["sqs:SendMessage"]
    assert statements["SendToLanesAndItsDlq"]["resources"] == [
        "${aws_sqs_queue.interactive.arn}", "${aws_sqs_queue.bulk.arn}", "${aws_sqs_queue.router_dlq.arn}"
    ]  # fmt: skip
    assert statements["ReadUploadMarks"] == {
        "sid": "ReadUploadMarks",
        "actions": ["s3:GetObject"],
        "resources": ["${module.input_bucket.arn}/uploads/*"],
    }
    for statement in statements.values():
        assert all("*" not in action for action in statement["actions"]), statement["sid"]
    # and the worker consumes the lanes, no longer the work queue
    worker = {s["sid"]: s for s in tf["data"]["aws_iam_policy_document"]["worker"]["statement"]}
    assert worker["ConsumeWorkQueue"]["resources"] == [
        "${aws_sqs_queue.interactive.arn}",
        "${aws_sqs_queue.bulk.arn}",
    ]


def test_the_routers_logs_are_encrypted_with_the_key(tf: dict[str, Any]) -> None:
    assert tf["resource"]["aws_cloudwatch_log_group"]["router"]["kms_key_id"] == "${aws_kms_key.main.arn}"
    text = (ROOT / "kms.tf").read_text()
    assert "log-group:/aws/lambda/${local.lane_names.router}" in text


def test_each_lane_and_the_router_raise_an_alarm(tf: dict[str, Any]) -> None:
    alarms = tf["locals"]["lane_alarms"]
    watched = {
        (a["metric"], a["dimensions"].get("QueueName") or a["dimensions"].get("FunctionName"))
        for a in alarms.values()
    }
    assert watched == {
        ("ApproximateAgeOfOldestMessage", "${aws_sqs_queue.interactive.name}"),
        ("ApproximateAgeOfOldestMessage", "${aws_sqs_queue.bulk.name}"),
        ("ApproximateNumberOfMessagesVisible", "${aws_sqs_queue.router_dlq.name}"),
        ("Errors", "${aws_lambda_function.router.function_name}"),
        ("Throttles", "${aws_lambda_function.router.function_name}"),
    }
    assert default(tf, "interactive_oldest_message_alarm_s") < default(tf, "bulk_oldest_message_alarm_s")
    resource = tf["resource"]["aws_cloudwatch_metric_alarm"]["lanes"]
    assert resource["for_each"] == "${local.lane_alarms}"


def test_the_outputs_name_the_lanes_for_the_cli(tf: dict[str, Any]) -> None:
    outputs = {name: o["value"] for name, o in tf["output"].items()}
    assert outputs["interactive_queue_url"] == "${aws_sqs_queue.interactive.id}"
    assert outputs["bulk_queue_url"] == "${aws_sqs_queue.bulk.id}"
    assert outputs["router_dlq_url"] == "${aws_sqs_queue.router_dlq.id}"


def test_the_local_stack_runs_the_lanes_with_terraforms_defaults(tf: dict[str, Any]) -> None:
    plan, settings = LanePlan(), RouterSettings.model_fields
    assert plan.interactive_batch_size == default(tf, "interactive_batch_size")
    assert plan.router_timeout_s == default(tf, "router_timeout_s")
    assert settings["router_bulk_per_minute"].default == default(tf, "router_bulk_per_minute")
    assert settings["router_fair_queues"].default == default(tf, "router_fair_queues")
    names = tf["locals"]["lane_names"]
    assert {k: v.replace("${var.name_prefix}", "imgpipe") for k, v in names.items()} == {
        "interactive": "imgpipe-work-interactive",
        "bulk": "imgpipe-work-bulk",
        "router_dlq": "imgpipe-router-dlq",
        "router": "imgpipe-router",
    }
