"""`deploy.ops.sweep` and `worker.orphans` on their own: what counts as garbage, what is always kept,
how deletes are batched and checked, the command's refusals and the scheduled sweep's settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

import pytest

from deploy.ops.sweep import DELETE_BATCH, Orphan, Stored, delete, plan
from shared.errors import ConfigError
from shared.manifest import Manifest
from tests.client_types import S3Base, answered
from tests.unit.test_cli import (
    assert_failure,
    hermetic,  # noqa: F401  (autouse: no AWS configuration from the machine)
    invoke,
)
from worker.orphans import image_of, unit_of
from worker.orphans.settings import SHORTEST_OLDER_THAN_S, load_sweep_settings

if TYPE_CHECKING:
    from types_boto3_s3.type_defs import DeleteObjectsOutputTypeDef, DeleteTypeDef, ErrorTypeDef

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD, NEW = NOW - timedelta(hours=3), NOW - timedelta(minutes=5)
CUTOFF = NOW - timedelta(hours=1)


def manifest(image_id: str, keys: list[str], status: str = "complete") -> Manifest:
    variants = [
        {"name": k.rsplit("/", 1)[1].split(".")[0], "key": k, "format": "jpeg", "width": 1, "height": 1,
         "bytes": 1, "sha256": "0" * 64}
        for k in keys
    ]  # fmt: skip
    return Manifest.model_validate(
        {"status": status, "imageId": image_id, "userId": "u1", "variants": variants,
         "source": {"bucket": "in", "key": f"uploads/u1/{image_id}.jpg"}, "pipeline": {"configHash": "h"}}
    )  # fmt: skip


def test_plan_removes_only_old_unlisted_objects_and_names_their_kind() -> None:
    # Given two manifests (one failed, listing nothing) and objects of every kind, old and new
    manifests = [
        manifest("img_a", ["processed/u1/img_a/r2/large.jpg", "processed/watermarked/u1/img_a/r2/small.jpg"]),
        manifest("img_f", [], status="failed"),
    ]
    stored = [
        Stored("processed/u1/img_a/r2/large.jpg", 10, OLD),  # listed, old: kept
        Stored("processed/watermarked/u1/img_a/r2/small.jpg", 10, OLD),  # listed (watermarked): kept
        Stored("processed/u1/img_a/r1/large.jpg", 20, OLD),  # replaced render left behind
        Stored("processed/watermarked/u1/img_a/r1/small.jpg", 20, OLD),
        Stored("processed/u1/img_a/large.jpg", 30, OLD),  # the seed design's fixed key
        Stored("processed/u1/img_f/r9/large.jpg", 40, OLD),  # a failed image's old render
        Stored("processed/u1/img_x/r3/large.jpg", 50, OLD),  # no manifest at all
        Stored("processed/u1/img_a/r3/large.jpg", 60, NEW),  # a render still in flight
    ]
    # When the sweep plans with a cut-off an hour ago
    result = plan(manifests, stored, CUTOFF)
    # Then listed keys and the recent render stay; everything else goes, each for its reason
    assert [s.key for s in result.listed] == [stored[0].key, stored[1].key]
    assert [s.key for s in result.recent] == [stored[7].key]
    assert [(o.stored.key, o.reason) for o in result.remove] == [
        (stored[2].key, "orphan render"), (stored[3].key, "orphan render"), (stored[4].key, "legacy variant"),
        (stored[5].key, "orphan render"), (stored[6].key, "no manifest"),
    ]  # fmt: skip
    assert result.manifests == 2


def test_every_render_under_a_deleted_image_is_an_orphan_past_the_cut_off() -> None:
    # Given a tombstone (its owner deleted the image; it lists nothing) and renders under it
    tombstone = manifest("img_d", [], status="deleted")
    stored = [
        Stored("processed/u1/img_d/r1/large.jpg", 10, OLD),  # what the deletion missed
        Stored("processed/watermarked/u1/img_d/r1/small.jpg", 10, OLD),
        Stored("processed/u1/img_d/r2/large.jpg", 10, NEW),  # a run that may still lose and clean up
    ]
    # When the sweep plans
    result = plan([tombstone], stored, CUTOFF)
    # Then every old object goes as a deleted image's; the recent render waits for the cut-off
    assert [(o.stored.key, o.reason) for o in result.remove] == [
        (stored[0].key, "deleted image"), (stored[1].key, "deleted image"),
    ]  # fmt: skip
    assert result.recent == [stored[2]] and result.listed == []


def test_a_listed_key_is_kept_however_old() -> None:
    # Given a listed variant a year old
    listed = Stored("processed/u1/img_a/large.jpg", 1, NOW - timedelta(days=365))
    # When planned with a cut-off of now
    result = plan([manifest("img_a", [listed.key])], [listed], NOW)
    # Then it is kept: a manifest lists it (here the seed design's fixed key)
    assert result.remove == [] and result.listed == [listed]


class FakeS3(S3Base):
    def __init__(self, fail: set[str]) -> None:
        self.fail = fail
        self.calls: list[DeleteTypeDef] = []

    def delete_objects(
        self,
        *,
        Bucket: str,  # noqa: N803 - boto3's names
        Delete: DeleteTypeDef,  # noqa: N803
        **_: object,
    ) -> DeleteObjectsOutputTypeDef:
        self.calls.append(Delete)
        errors: list[ErrorTypeDef] = [{"Key": o["Key"], "Code": "AccessDenied", "Message": "no"}
                                      for o in Delete["Objects"] if o["Key"] in self.fail]  # fmt: skip
        # types-boto3 marks every field of an answer required; a quiet delete sends only the errors
        answer: dict[str, object] = {"ResponseMetadata": answered()}
        if errors:
            answer["Errors"] = errors
        return cast("DeleteObjectsOutputTypeDef", answer)


def test_deletes_go_in_batches_of_1000_and_every_error_is_reported() -> None:
    # Given 2,500 orphans, two of which S3 refuses to delete
    orphans = [Orphan(Stored(f"processed/u1/img_x/r/{n}.jpg", 1, OLD), "no manifest") for n in range(2500)]
    s3 = FakeS3({"processed/u1/img_x/r/5.jpg", "processed/u1/img_x/r/2400.jpg"})
    # When they are deleted
    errors = delete(s3, "out", orphans)
    # Then three quiet requests of at most 1000 keys went out, and both refusals came back
    assert [len(call["Objects"]) for call in s3.calls] == [DELETE_BATCH, DELETE_BATCH, 500]
    assert all(call["Quiet"] for call in s3.calls)
    assert [(e.key, e.code) for e in errors] == [
        ("processed/u1/img_x/r/5.jpg", "AccessDenied"), ("processed/u1/img_x/r/2400.jpg", "AccessDenied"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "pass --yes"),
        (("--json",), "pass --yes"),
        (("--older-than", "soon", "--dry-run"), "--older-than"),
    ],
    ids=["no-yes", "json-no-yes", "bad-duration"],
)
def test_sweep_usage_errors(args: tuple[str, ...], needle: str) -> None:
    # Given no terminal to ask on (the test runner's stdin), and no AWS configuration at all
    # When the sweep is started without consent, or with a bad duration
    # Then it is refused before any request
    assert_failure(invoke("sweep", *args), 2, needle)


def test_a_render_is_judged_by_its_newest_object_plain_and_watermarked_together() -> None:
    # Given unlisted renders: one whose variants span the cut-off (its last PUT after it), one
    # whose watermarked half was written after it, and one entirely older than the cut-off
    spanning = [
        Stored("processed/u1/img_a/r1/original.jpg", 1, OLD),
        Stored("processed/u1/img_a/r1/small.jpg", 1, NEW),
    ]
    halves = [Stored("processed/u1/img_a/r2/large.jpg", 1, OLD),
              Stored("processed/watermarked/u1/img_a/r2/large.jpg", 1, NEW)]  # fmt: skip
    old = [
        Stored("processed/u1/img_a/r3/large.jpg", 1, OLD),
        Stored("processed/u1/img_a/r3/small.jpg", 1, OLD),
    ]
    # When the sweep plans with no manifest listing any of them
    result = plan([manifest("img_a", [])], [*spanning, *halves, *old], CUTOFF)
    # Then a render is removed whole or not at all: only the render older than the cut-off goes
    assert [o.stored for o in result.remove] == old
    assert result.recent == [*spanning, *halves]


@pytest.mark.parametrize(
    ("key", "unit", "image"),
    [
        ("processed/u1/img_a/r1/large.jpg", ("u1", "img_a", "r1"), "img_a"),
        ("processed/watermarked/u1/img_a/r1/large.jpg", ("u1", "img_a", "r1"), "img_a"),
        ("processed/u1/img_a/large.jpg", ("processed/u1/img_a/large.jpg",), "img_a"),
        ("processed/u1/stray.jpg", ("processed/u1/stray.jpg",), None),
        ("processed/watermarked", ("processed/watermarked",), None),
    ],
    ids=["render", "watermarked-half", "legacy", "stray", "bare-watermarked"],
)
def test_what_render_and_image_a_key_belongs_to(key: str, unit: tuple[str, ...], image: str | None) -> None:
    # Given a key under processed/; Then its render (the unit the sweep judges) and its image
    assert unit_of(key) == unit
    assert image_of(key) == image


def test_the_scheduled_sweep_refuses_a_cutoff_a_run_could_still_commit_within(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the sweep function's environment with a minimum age shorter than Lambda's 15 minutes
    monkeypatch.setenv("IMGPIPE_OUTPUT_BUCKET", "imgpipe-output")
    monkeypatch.setenv("IMGPIPE_SWEEP_OLDER_THAN_S", "600")
    # When its settings are read, as at a cold start
    with pytest.raises(ConfigError, match="IMGPIPE_SWEEP_OLDER_THAN_S") as refused:
        load_sweep_settings()
    # Then it is refused, naming the variable; the floor covers the longest run plus a minute
    assert str(SHORTEST_OLDER_THAN_S) in str(refused.value)
    assert SHORTEST_OLDER_THAN_S >= 15 * 60 + 60
    monkeypatch.delenv("IMGPIPE_OUTPUT_BUCKET")
    with pytest.raises(ConfigError, match="IMGPIPE_OUTPUT_BUCKET is required"):
        load_sweep_settings()
