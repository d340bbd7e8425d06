"""`imgpipe sweep` against the moto server and manifests the real worker wrote: orphan renders,
legacy fixed keys and variants of images without a manifest go; every listed key stays, byte for
byte; objects newer than the cut-off and everything after an unreadable manifest stay too."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from deploy import cli
from deploy.local.esm import LocalContext
from deploy.ops import sweep
from tests.fixtures import images
from tests.integration.conftest import Stack, failed_ids
from worker.orphans import SweepIncomplete
from worker.orphans.state import STATE_KEY

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

pytestmark = pytest.mark.integration

runner = CliRunner()
ORPHANS = {
    "processed/u1/img_a/20260101T000000Z-0badf00d/large.jpg": "orphan render",
    "processed/watermarked/u1/img_a/20260101T000000Z-0badf00d/large.jpg": "orphan render",
    "processed/u1/img_a/large.jpg": "legacy variant",
    "processed/u1/img_gone/20260101T000000Z-00000000/small.jpg": "no manifest",
}


def processed_images(stack: Stack) -> list[dict[str, Any]]:
    items = [(f"uploads/u1/{image_id}.jpg", images.photo_jpeg(320, 240, seed=n)) for n, image_id in
             enumerate(("img_a", "img_b"))]  # fmt: skip
    messages = [message for _, message in stack.upload_and_receive(items).values()]
    assert failed_ids(stack.process(messages)) == []
    manifests = [stack.manifest("img_a"), stack.manifest("img_b")]
    assert all(m is not None and m["status"] == "complete" for m in manifests)
    return [m for m in manifests if m is not None]


def put_orphans(stack: Stack) -> None:
    for key in ORPHANS:
        stack.s3.put_object(Bucket=stack.topology.output_bucket, Key=key, Body=b"garbage " + key.encode())


def assert_listed_intact(stack: Stack, manifests: list[dict[str, Any]]) -> None:
    for manifest in manifests:
        for variant in manifest["variants"]:
            data = stack.read_output(variant["key"])
            assert hashlib.sha256(data).hexdigest() == variant["sha256"], variant["key"]


def test_sweep_removes_orphans_and_keeps_every_listed_key(stack: Stack) -> None:
    # Given two processed images, an orphan render (plain and watermarked), a legacy fixed-key
    # variant of one of them and a render of an image that has no manifest
    manifests = processed_images(stack)
    put_orphans(stack)
    listed = {v["key"] for m in manifests for v in m["variants"]}
    # When the sweep runs with everything older than its cut-off (`--older-than 0s`)
    result = runner.invoke(
        cli.app, ["sweep", "--output-bucket", stack.topology.output_bucket, "--older-than", "0s", "--yes",
                  "--json"],
    )  # fmt: skip
    # Then exactly the orphans are gone, each for its reason, and every listed key is intact
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {o["key"]: o["reason"] for o in document["objects"]} == ORPHANS
    assert document["removed"]["objects"] == len(ORPHANS)
    listed_bytes = sum(v["bytes"] for m in manifests for v in m["variants"])
    assert document["kept"] == {
        "objects": len(listed),
        "bytes": listed_bytes,
        "listed": len(listed),
        "recent": 0,
    }
    assert document["manifests"] == 2 and document["failed"] == []
    assert set(stack.output_keys("processed/")) == listed
    assert_listed_intact(stack, manifests)


def test_sweep_spares_recent_objects_and_a_dry_run_removes_nothing(stack: Stack) -> None:
    # Given orphans written just now
    manifests = processed_images(stack)
    put_orphans(stack)
    before = stack.output_keys()
    # When the default sweep (older than 1h) runs, and a dry run with a cut-off in the future
    recent = runner.invoke(
        cli.app, ["sweep", "--output-bucket", stack.topology.output_bucket, "--yes", "--json"]
    )
    dry = runner.invoke(
        cli.app, ["sweep", "--output-bucket", stack.topology.output_bucket, "--older-than", "0s", "--dry-run"]
    )
    # Then nothing was removed: the orphans are newer than an hour, and a dry run only tells
    assert recent.exit_code == 0 and dry.exit_code == 0, recent.output + dry.output
    kept = json.loads(recent.stdout)["kept"]
    assert kept["recent"] == len(ORPHANS) and json.loads(recent.stdout)["removed"]["objects"] == 0
    assert f"would remove {len(ORPHANS)} objects" in dry.stdout
    assert stack.output_keys() == before
    assert_listed_intact(stack, manifests)


def test_an_unreadable_manifest_stops_the_sweep_before_any_delete(stack: Stack) -> None:
    # Given an orphan and a manifest that is not valid JSON
    processed_images(stack)
    put_orphans(stack)
    bucket = stack.topology.output_bucket
    stack.s3.put_object(Bucket=bucket, Key="metadata/img_broken/processing-info.json", Body=b"{not json")
    before = stack.output_keys()
    # When the sweep runs (directly, with a cut-off an hour in the future)
    with pytest.raises(sweep.SweepError, match="img_broken"):
        sweep.read_manifests(stack.s3, bucket)
    result = runner.invoke(cli.app, ["sweep", "--output-bucket", bucket, "--older-than", "0s", "--yes"])
    # Then it failed with the manifest's key in one line and removed nothing
    assert result.exit_code == 1
    assert "metadata/img_broken/processing-info.json" in result.stderr
    assert stack.output_keys() == before


def test_plan_with_a_later_cutoff_matches_what_the_cli_removes(stack: Stack) -> None:
    # Given the processed images and orphans, planned with "now" two hours ahead (as the sweep
    # would see them two hours from now)
    processed_images(stack)
    put_orphans(stack)
    bucket = stack.topology.output_bucket
    later = datetime.now(UTC) + timedelta(hours=2)
    # When the plan is computed with the default hour of grace
    plan = sweep.plan(sweep.read_manifests(stack.s3, bucket), sweep.list_processed(stack.s3, bucket),
                      later - timedelta(hours=1))  # fmt: skip
    # Then it removes exactly the orphans, and deleting them reports no error
    assert {o.stored.key for o in plan.remove} == set(ORPHANS)
    assert sweep.delete(stack.s3, bucket, plan.remove) == []
    assert not set(ORPHANS) & set(stack.output_keys())


class JumpingClock(datetime):
    """`datetime` as the sweep command sees it: real time plus an offset a test can move on."""

    offset = timedelta()

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + cls.offset


def commit_a_render(stack: Stack, image_id: str) -> list[str]:
    """What a worker's run leaves: its render's variants, then the manifest that lists them."""
    render = f"processed/u1/{image_id}/20261201T000000Z-0000abcd/"
    keys = [f"{render}{name}.jpg" for name in ("original", "large", "small")]
    bucket = stack.topology.output_bucket
    for key in keys:
        stack.s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    variants = [{"name": k.rsplit("/", 1)[1][:-4], "key": k, "format": "jpeg", "width": 1, "height": 1,
                 "bytes": len(k), "sha256": hashlib.sha256(k.encode()).hexdigest()}
                for k in keys]  # fmt: skip
    manifest = {"schema": 1, "status": "complete", "imageId": image_id, "userId": "u1", "variants": variants,
                "source": {"bucket": stack.topology.input_bucket, "key": f"uploads/u1/{image_id}.jpg"},
                "pipeline": {"configHash": "h", "renderId": "20261201T000000Z-0000abcd"}}  # fmt: skip
    stack.s3.put_object(
        Bucket=bucket, Key=f"metadata/{image_id}/processing-info.json", Body=json.dumps(manifest)
    )
    return keys


def test_a_render_committed_while_the_manifests_are_read_survives_a_slow_sweep(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given processed images, and a sweep whose clock is two hours on once it has read one
    # manifest (a sweep of a million manifests takes that long), during which a run commits a
    # new render: its manifest is written after the sweep listed the manifests, so the sweep
    # never holds it
    from deploy.cli import sweep as maintenance
    from deploy.cli.common import clients as real_clients  # what the sweep command calls

    manifests = processed_images(stack)
    monkeypatch.setattr(JumpingClock, "offset", timedelta())
    monkeypatch.setattr(maintenance, "datetime", JumpingClock)
    committed: list[str] = []

    def clients() -> tuple[S3Client, SQSClient]:
        s3, sqs = real_clients()

        def while_reading(**_: object) -> None:
            if not committed:
                committed.extend(commit_a_render(stack, "img_new"))
                JumpingClock.offset = timedelta(hours=2)

        s3.meta.events.register("after-call.s3.GetObject", while_reading)
        return s3, sqs

    monkeypatch.setattr(maintenance, "clients", clients)
    # When the sweep runs with the default hour of grace
    result = runner.invoke(
        cli.app, ["sweep", "--output-bucket", stack.topology.output_bucket, "--yes", "--json"]
    )
    # Then the committed render is still there: it is younger than any cut-off taken at the start
    assert result.exit_code == 0, result.output
    assert committed, "the sweep read no manifest"
    assert set(committed) <= set(stack.output_keys("processed/"))
    assert json.loads(result.stdout)["removed"]["objects"] == 0
    assert_listed_intact(stack, manifests)


# --------------------------------------------------------------------------- the scheduled sweep


@dataclass
class Pages(LocalContext):
    """A Lambda context whose remaining time drops by `step_s` at every look: the sweep checks
    once before each page, so an invocation does a known number of pages, whatever the machine."""

    step_s: float = 300.0
    left_s: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        left, self.left_s = self.left_s, self.left_s - self.step_s
        return max(0, int(left * 1000))


def pages_context(pages: int) -> Pages:
    # `pages` looks that leave more than the reserve plus twice any page's time, then one that does not
    return Pages(timeout_s=900, function_name="imgpipe-sweep", left_s=pages * 300.0 + 5)


@pytest.fixture
def lambda_sweep(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`worker.sweep` as a cold start sees it (two keys a page), its clock two hours ahead."""
    monkeypatch.setenv("IMGPIPE_SWEEP_PAGE_KEYS", "2")
    monkeypatch.setenv("IMGPIPE_SWEEP_OLDER_THAN_S", "3600")
    from worker import sweep as module
    from worker.orphans import sweeper

    module.sweep_settings.cache_clear()
    module.s3_client.cache_clear()
    monkeypatch.setattr(JumpingClock, "offset", timedelta(hours=2))
    monkeypatch.setattr(sweeper, "utcnow", lambda: JumpingClock.now(UTC))
    yield module
    module.sweep_settings.cache_clear()
    module.s3_client.cache_clear()


def state(stack: Stack) -> dict[str, Any]:
    return dict(json.loads(stack.read_output(STATE_KEY)))


def test_scheduled_sweep_goes_on_where_the_last_invocation_stopped(stack: Stack, lambda_sweep: Any) -> None:
    # Given two processed images and the orphans of every kind, all older than the cut-off
    manifests = processed_images(stack)
    put_orphans(stack)
    listed = {v["key"] for m in manifests for v in m["variants"]}
    # When the schedule invokes the sweep with time for two pages of two keys (each completed
    # to the end of its render) at a time, until an invocation reaches the end
    first = lambda_sweep.handler({}, pages_context(2))
    after_first = state(stack)
    second = lambda_sweep.handler({}, pages_context(2))
    # Then the first stopped before its deadline with its place saved, the second went on from there
    assert (first["stoppedBy"], first["pages"]) == ("deadline", 2)
    assert after_first["after"] == first["after"] and first["after"].startswith("processed/")
    assert after_first["cycle"]["pages"] == 2
    assert (second["stoppedBy"], second["pages"], second["after"]) == ("end", 1, "")
    # And together they removed exactly the orphans and kept every listed key, byte for byte
    assert first["removed"]["objects"] + second["removed"]["objects"] == len(ORPHANS)
    assert set(stack.output_keys("processed/")) == listed
    assert_listed_intact(stack, manifests)
    # And the finished cycle is recorded, and the next invocation starts a new one from the top
    cycle = state(stack)["lastCycle"]
    assert (cycle["pages"], cycle["scanned"], cycle["removed"]) == (
        3,
        len(listed) + len(ORPHANS),
        len(ORPHANS),
    )
    assert "cycle" not in state(stack) and state(stack)["after"] == ""
    third = lambda_sweep.handler({}, pages_context(5))
    assert (third["stoppedBy"], third["removed"]["objects"]) == ("end", 0)
    assert third["kept"] == {"listed": len(listed), "recent": 0}


def test_scheduled_sweep_never_splits_a_render_between_pages(stack: Stack, lambda_sweep: Any) -> None:
    # Given an image whose render has five variants
    (manifest, _) = processed_images(stack)
    render = {v["key"] for v in manifest["variants"]}
    # When a page of two keys is listed from the start
    from worker.orphans.pages import list_page

    page = list_page(stack.s3, stack.topology.output_bucket, "", 2)
    # Then it holds the whole render, and the next page starts after it
    assert render <= {s.key for s in page.stored}
    assert page.after == max(render)


def test_scheduled_sweep_keeps_a_render_committed_while_it_reads(
    stack: Stack, lambda_sweep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run that has written its render but not yet committed it, and a sweep whose clock
    # is right at its start and two hours on once it has read that image's (missing) manifest,
    # the moment the run commits
    monkeypatch.setattr(JumpingClock, "offset", timedelta())
    bucket = stack.topology.output_bucket
    render = commit_a_render(stack, "img_new")
    manifest = stack.read_output("metadata/img_new/processing-info.json")
    stack.s3.delete_object(Bucket=bucket, Key="metadata/img_new/processing-info.json")

    def commit(http_response: Any, **_: Any) -> None:
        if "metadata/img_new/" in unquote(http_response.url) and JumpingClock.offset == timedelta():
            stack.s3.put_object(Bucket=bucket, Key="metadata/img_new/processing-info.json", Body=manifest)
            JumpingClock.offset = timedelta(hours=2)

    lambda_sweep.s3_client().meta.events.register("after-call.s3.GetObject", commit)
    # When the sweep runs through
    summary = lambda_sweep.handler({}, pages_context(5))
    # Then the render is whole: its newest object is younger than the cut-off taken at the start
    assert JumpingClock.offset == timedelta(hours=2), "the sweep never read img_new's manifest"
    assert summary["stoppedBy"] == "end" and summary["removed"]["objects"] == 0
    assert set(render) <= set(stack.output_keys("processed/"))


def test_an_unreadable_manifest_keeps_its_image_and_fails_the_invocation_after_saving(
    stack: Stack, lambda_sweep: Any
) -> None:
    # Given the orphans, and img_a's manifest replaced by bytes that are not a manifest
    processed_images(stack)
    put_orphans(stack)
    bucket = stack.topology.output_bucket
    stack.s3.put_object(Bucket=bucket, Key="metadata/img_a/processing-info.json", Body=b"{not json")
    img_a = set(stack.output_keys("processed/u1/img_a/")) | set(stack.output_keys("processed/watermarked/"))
    # When the sweep runs through
    with pytest.raises(SweepIncomplete, match="metadata/img_a/processing-info.json"):
        lambda_sweep.handler({}, pages_context(5))
    # Then every object of img_a is still there, the image without a manifest was swept, and
    # the cycle was recorded as finished, so the next run starts over rather than sticking
    assert img_a <= set(stack.output_keys("processed/"))
    assert not stack.output_keys("processed/u1/img_gone/")
    assert state(stack)["lastCycle"]["removed"] == 1


def test_a_sweep_whose_state_was_moved_by_another_stops(stack: Stack, lambda_sweep: Any) -> None:
    # Given a stored state, and an invocation holding an older read of it
    from worker.orphans import state as states

    bucket = stack.topology.output_bucket
    fresh = states.save(
        stack.s3, bucket, states.Saved(states.State(), None), states.State(after="processed/a"), None
    )
    assert fresh is not None
    moved = states.save(stack.s3, bucket, fresh, states.State(after="processed/b"), None)
    # When the older read is written back, or a first write finds one already there
    stale = states.save(stack.s3, bucket, fresh, states.State(after="processed/c"), None)
    twice = states.save(
        stack.s3, bucket, states.Saved(states.State(), None), states.State(after="processed/d"), None
    )
    # Then both are refused and the state is the one the other invocation wrote
    assert moved is not None and stale is None and twice is None
    assert state(stack)["after"] == "processed/b"


def test_a_dry_run_shows_hostile_keys_as_text_not_markup(stack: Stack) -> None:
    # Given orphans whose keys look like rich markup (anyone who can write processed/ names them)
    bucket = stack.topology.output_bucket
    hostile = ["processed/u1/[/x]/r/large.jpg", "processed/u1/[link=https://evil.example]x[/link]/r/a.jpg"]
    for key in hostile:
        stack.s3.put_object(Bucket=bucket, Key=key, Body=b"garbage")
    # When an operator looks before sweeping
    dry = runner.invoke(cli.app, ["sweep", "--output-bucket", bucket, "--older-than", "0s", "--dry-run"])
    # Then the table lists each key literally, and the command does not crash on the markup
    assert dry.exit_code == 0, dry.output
    flat = "".join(dry.stdout.split())
    for key in hostile:
        assert key in flat, dry.stdout
