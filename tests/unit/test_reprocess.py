"""`deploy.ops.reprocess` on its own: the event it builds is one the worker parses back to the same
object, staleness is decided as the worker's duplicate check would, sends are paced and every
batch entry is checked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote_plus

import pytest

from deploy.ops.reprocess import Pacer, Upload, event_body, send_events, stale_reason
from shared.manifest import Manifest
from tests.client_types import SqsBase, answered
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: no AWS or IMGPIPE_* configuration from the machine)
    invoke,
)
from worker.events import parse_body

if TYPE_CHECKING:
    from types_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef, SendMessageBatchResultTypeDef

pytestmark = pytest.mark.unit

UPLOAD = Upload("uploads/u1/img_a.jpg", "0123abcd", 2048, "u1", "img_a")


def manifest(**changes: Any) -> Manifest:
    document: dict[str, Any] = {
        "status": "complete", "imageId": "img_a", "userId": "u1",
        "source": {"bucket": "in", "key": UPLOAD.key, "etag": '"0123abcd"'},
        "pipeline": {"configHash": "hash-now", "renderId": "r1"},
    }  # fmt: skip
    for name, value in changes.items():
        section, _, field = name.partition("__")
        if field:
            document[section] = {**document[section], field: value}
        else:
            document[section] = value
    return Manifest.model_validate(document)


@pytest.mark.parametrize("key", ["uploads/u1/img_a.jpg", "uploads/u1/a b+c%.jpg"], ids=["plain", "escaped"])
def test_the_event_is_what_the_worker_parses(key: str) -> None:
    # Given an upload (keys with characters S3 escapes too)
    upload = Upload(key, "0123abcd", 2048, "u1", "img_a")
    # When its event is built and parsed the worker's way
    body = event_body("in", upload, "eu-west-1")
    (ref,) = parse_body(body)
    # Then it names the same object, ETag and size, as an S3 ObjectCreated:Put
    assert (ref.bucket, ref.key, ref.etag, ref.size, ref.event_name) == ("in", key, "0123abcd", 2048,
                                                                           "ObjectCreated:Put")  # fmt: skip
    record = json.loads(body)["Records"][0]
    assert record["eventSource"] == "aws:s3" and record["awsRegion"] == "eu-west-1"
    assert " " not in record["s3"]["object"]["key"]
    # And the key is encoded as AWS encodes it (a form value: `/` kept, space as `+`)
    assert record["s3"]["object"]["key"] == quote_plus(key, safe="/")


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (None, "no manifest"),
        (manifest(), None),
        (manifest(pipeline__configHash="hash-before"), "variants changed"),
        (manifest(source__etag='"ffff"'), "upload changed"),
        (manifest(status="failed", error={"type": "CorruptImage", "message": "x"}), None),
        # a failure is the file's: under another configuration it would only be quarantined again
        (
            manifest(
                status="failed", error={"type": "CorruptImage", "message": "x"}, pipeline__configHash="old"
            ),
            None,
        ),
        (manifest(source__key="uploads/u2/img_a.png"), None),
    ],
    ids=[
        "missing",
        "current",
        "other-config",
        "other-upload",
        "failed-same-config",
        "failed-other-config",
        "another-keys-image",
    ],
)
def test_stale_means_the_worker_would_render_it_again(stored: Manifest | None, reason: str | None) -> None:
    assert stale_reason(UPLOAD, stored, "hash-now") == reason


@pytest.mark.parametrize(
    ("modified", "reason"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), None),  # before the deletion: its owner deleted it
        (datetime(2026, 12, 1, 10, 0, 0, 900_000, tzinfo=UTC), None),  # within its second: covered
        (datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC), "uploaded after a deletion"),  # a new upload
    ],
    ids=["before", "same-second", "after"],
)
def test_an_upload_its_owner_deleted_is_never_stale(modified: datetime, reason: str | None) -> None:
    # Given the image's tombstone (its source is the imageId's other key) and an upload of it
    tombstone = manifest(status="deleted", deletedAt="2026-12-01T10:00:00.500Z",
                         source__key="uploads/u1/img_a.png")  # fmt: skip
    # Then only an upload newer than the deletion is selected
    assert stale_reason(replace(UPLOAD, modified=modified), tombstone, "hash-now") == reason


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakeSqs(SqsBase):
    """Answers SendMessageBatch, failing the entries `refuse` names and dropping those `drop` names."""

    def __init__(
        self, clock: FakeClock, refuse: frozenset[str] = frozenset(), drop: frozenset[str] = frozenset()
    ) -> None:
        self.clock, self.refuse, self.drop = clock, refuse, drop
        self.batches: list[tuple[float, list[str]]] = []

    def send_message_batch(
        self,
        *,
        QueueUrl: str,  # noqa: N803 - boto3's names
        Entries: Sequence[SendMessageBatchRequestEntryTypeDef],  # noqa: N803
    ) -> SendMessageBatchResultTypeDef:
        keys = [
            unquote_plus(json.loads(e["MessageBody"])["Records"][0]["s3"]["object"]["key"]) for e in Entries
        ]
        self.batches.append((self.clock.now, keys))
        answer: SendMessageBatchResultTypeDef = {
            "Successful": [],
            "Failed": [],
            "ResponseMetadata": answered(),
        }
        for entry, key in zip(Entries, keys, strict=True):
            if key in self.refuse:
                answer["Failed"].append(
                    {"Id": entry["Id"], "Code": "ThrottlingException", "SenderFault": False}
                )
            elif key not in self.drop:
                digest = hashlib.md5(entry["MessageBody"].encode()).hexdigest()
                answer["Successful"].append({"Id": entry["Id"], "MessageId": "m", "MD5OfMessageBody": digest})
        return answer


def uploads(count: int) -> list[tuple[Upload, str]]:
    items = [Upload(f"uploads/u1/img_{n}.jpg", "e", 1, "u1", f"img_{n}") for n in range(count)]
    return [(u, event_body("in", u, "us-east-1")) for u in items]


@pytest.mark.parametrize(("rate", "batch"), [(20.0, 10), (2.5, 2), (0.5, 1)])
def test_sends_are_paced_to_the_rate(rate: float, batch: int) -> None:
    # Given 25 uploads and a rate
    clock = FakeClock()
    sqs = FakeSqs(clock)
    # When they are sent
    failed = send_events(sqs, "q", uploads(25), Pacer(rate, clock, clock.sleep))
    # Then batches never exceed 10 (nor the rate), and batch n leaves no earlier than n sent / rate
    assert failed == []
    assert all(len(keys) <= batch for _, keys in sqs.batches)
    sent = 0
    for at, keys in sqs.batches:
        assert at - 100.0 >= sent / rate - 1e-9
        sent += len(keys)
    assert sent == 25
    assert clock.now - 100.0 == pytest.approx((25 - len(sqs.batches[-1][1])) / rate)


def test_every_entry_of_a_batch_response_is_checked() -> None:
    # Given SQS refusing one entry and leaving another unanswered
    clock = FakeClock()
    sqs = FakeSqs(clock, refuse=frozenset({"uploads/u1/img_3.jpg"}), drop=frozenset({"uploads/u1/img_7.jpg"}))
    # When twelve events are sent
    failed = send_events(sqs, "q", uploads(12), Pacer(1000, clock, clock.sleep))
    # Then both are reported, with SQS's code or the fact that it did not answer
    assert [(f.key, f.code) for f in failed] == [
        ("uploads/u1/img_3.jpg", "ThrottlingException"), ("uploads/u1/img_7.jpg", "NoResult"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "needle"),
    [(("--rate", "0", "--dry-run"), "--rate must be above 0"),
     (("--rate", "-3", "--dry-run"), "--rate must be above 0"),
     ((), "--queue-url"), (("--user", "bad user", "--dry-run"), "'bad user'")],
    ids=["rate-zero", "rate-negative", "no-queue", "bad-user"],
)  # fmt: skip
def test_reprocess_usage_errors(args: tuple[str, ...], needle: str) -> None:
    assert_failure(invoke("reprocess", *args), 2, needle)


def test_stale_needs_valid_variant_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a variant setting the worker would refuse
    monkeypatch.setenv("IMGPIPE_VARIANTS", "[]")
    # When stale uploads are looked for, the hash they are compared with cannot be known
    result = invoke("reprocess", "--stale", "--dry-run")
    # Then it is a usage error naming the variable (before any AWS call)
    assert_failure(result, 2, "IMGPIPE_VARIANTS")
