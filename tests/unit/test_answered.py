"""Which stored manifest answers a delivery, and what a failed manifest may replace.

The rules behind docs/consistency.md's "What the manifest answers" and "The quarantine's order",
case by case, without S3: the integration tests stage the races that lead to each case.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from shared.manifest import ErrorRecord, Manifest, PipelineRecord, SourceRecord
from shared.settings import Settings
from shared.variants import DEFAULT_VARIANTS, config_hash
from worker.answers import answered, failure_may_replace, repeats_failure
from worker.deadline import Deadline
from worker.events import ObjectRef
from worker.job import Delivery, Job, engine_hash, is_redrive

pytestmark = pytest.mark.unit

KEY = "uploads/u1/img.jpg"
CONFIG = config_hash(DEFAULT_VARIANTS)
SETTINGS = Settings.model_construct(output_bucket="out")


def _manifest(status: str = "failed", etag: str = "e1", key: str = KEY, **pipeline: Any) -> Manifest:
    error = pipeline.pop("error", "CorruptImage")
    return Manifest(
        status=status,
        image_id="img",
        user_id="u1",
        source=SourceRecord(bucket="in", key=key, etag=etag),
        error=ErrorRecord(type=error, message="bad", message_id=pipeline.pop("message_id", "m1"))
        if status == "failed"
        else None,
        pipeline=PipelineRecord(
            config_hash=pipeline.pop("config_hash", CONFIG),
            engine_hash=pipeline.pop("engine_hash", engine_hash(SETTINGS)),
            **pipeline,
        ),
    )


def _job(message_id: str = "m2", redriven: bool = False) -> Job:
    return Job(
        SETTINGS,
        CONFIG,
        clients=cast(Any, None),
        executor=cast(Any, None),
        deadline=Deadline(0.0),
        delivery=Delivery(message_id, redriven),
    )


def _ref(etag: str = "e1", key: str = KEY) -> ObjectRef:
    return ObjectRef("in", key, etag, None, 1, "ObjectCreated:Put")


@pytest.mark.parametrize(
    ("manifest", "job", "ref", "answers"),
    [
        (_manifest("complete"), _job(redriven=True), _ref(), True),
        (_manifest("complete", config_hash="other"), _job(), _ref(), False),
        (_manifest(), _job(), _ref(), True),
        (_manifest(), _job(redriven=True), _ref(), False),
        (_manifest(), _job(message_id="m1"), _ref(), False),
        (_manifest(), _job(), _ref(etag="e2"), False),
        (_manifest(), _job(), _ref(key="uploads/u1/img.png"), False),
        (_manifest(engine_hash="another"), _job(), _ref(), False),
        (_manifest(engine_hash=None), _job(), _ref(), False),
        (_manifest(version="0"), _job(), _ref(), False),
        (_manifest(error="SourceMissing"), _job(), _ref(), False),
        (_manifest(error="ImageTooLarge"), _job(), _ref(), True),
    ],
    ids=[
        "complete-even-for-a-redrive",
        "complete-under-another-config",
        "the-files-own-failure",
        "not-for-a-redrive",
        "not-for-the-delivery-that-wrote-it",
        "another-upload",
        "another-key",
        "another-engine",
        "no-engine-recorded",
        "another-pipeline-version",
        "source-missing-is-not-the-files",
        "too-large",
    ],
)
def test_what_a_stored_manifest_answers(manifest: Manifest, job: Job, ref: ObjectRef, answers: bool) -> None:
    assert answered(manifest, ref, job) is answers


def test_a_source_missing_answers_a_copy_that_fails_the_same_way() -> None:
    assert repeats_failure(_manifest(error="SourceMissing"), _ref(), _job(), {"SourceMissing"})
    assert not repeats_failure(_manifest(error="SourceMissing"), _ref(), _job(), {"CorruptImage"})


@pytest.mark.parametrize(
    ("other", "current", "may"),
    [
        (None, "e1", True),
        (_manifest("complete", etag="e0"), "e1", True),
        (_manifest("complete", etag="e3"), "e3", False),
        (None, "e3", False),
        (None, None, True),
        (_manifest("failed", etag="e1"), None, True),
        (_manifest("complete", etag="e1", config_hash="old"), None, False),
        (_manifest("complete", etag="e3"), None, False),
        (_manifest("failed", etag="e3"), None, False),
    ],
    ids=[
        "nothing-there-key-holds-it",
        "older-result-key-holds-it",
        "newer-result-key-holds-the-newer",
        "nothing-there-key-holds-a-newer",
        "nothing-there-key-empty",
        "its-own-failure-key-empty",
        "its-own-render-key-empty",
        "another-uploads-result-key-empty",
        "another-uploads-failure-key-empty",
    ],
)
def test_what_a_failed_manifest_may_replace(other: Manifest | None, current: str | None, may: bool) -> None:
    assert failure_may_replace(_manifest("failed", etag="e1"), other, current) is may


@pytest.mark.parametrize(("other", "may"), [(None, True), (_manifest("failed", etag="e0"), False)])
def test_a_failure_without_an_etag_only_fills_an_empty_place(other: Manifest | None, may: bool) -> None:
    failed = _manifest("failed").model_copy(update={"source": SourceRecord(bucket="in", key=KEY)})
    assert failure_may_replace(failed, other, "e1") is may


@pytest.mark.parametrize(
    ("attributes", "redrive"),
    [
        ({}, False),
        ({"imgpipe-redrive-count": {"stringValue": "1"}}, True),
        ({"imgpipe-error-type": {"stringValue": "CorruptImage"}}, True),
        ({"eventType": {"stringValue": "x"}}, False),
    ],
    ids=["plain", "imgpipe-redrive", "sqs-move-task", "other-attributes"],
)
def test_a_redrive_is_told_by_the_attributes_the_quarantine_gave_it(
    attributes: dict[str, Any], redrive: bool
) -> None:
    assert is_redrive(attributes) is redrive


def test_the_engine_hash_changes_with_the_limits() -> None:
    tighter = Settings.model_construct(output_bucket="out", max_pixels=1000)
    assert engine_hash(tighter) != engine_hash(SETTINGS) == engine_hash(SETTINGS)
