"""`imgpipe reprocess` against the moto server and the real worker handler: after a variant change,
`--stale` queues exactly the images rendered under the old variants, the worker renders each of
them once, and nothing else is touched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from deploy import cli
from shared.variants import VariantSpec, config_hash
from tests.fixtures import images
from tests.integration.conftest import Fault, Stack, failed_ids

pytestmark = pytest.mark.integration

runner = CliRunner()
NEW_VARIANTS = [
    {"name": "small", "width": 64, "height": 64},
    {"name": "thumbnail", "width": 32, "height": 32, "fit": "cover"},
]
OLD = ("img_a", "img_b", "img_c")


def reprocess(stack: Stack, *args: str) -> dict[str, Any]:
    result: Result = runner.invoke(
        cli.app,
        ["reprocess", "--bucket", stack.topology.input_bucket, "--queue-url", stack.topology.queue_url,
         "--rate", "200", "--json", *args],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def upload_and_process(stack: Stack, image_ids: tuple[str, ...], seed: int) -> None:
    items = [
        (f"uploads/u1/{image_id}.jpg", images.photo_jpeg(320, 240, seed=seed + n))
        for n, image_id in enumerate(image_ids)
    ]
    messages = [message for _, message in stack.upload_and_receive(items).values()]
    assert failed_ids(stack.process(messages)) == []


def render_ids(stack: Stack, image_ids: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for image_id in image_ids:
        manifest = stack.manifest(image_id)
        assert manifest is not None and manifest["status"] == "complete", manifest
        found[image_id] = manifest["pipeline"]["renderId"]
    return found


def count_variant_puts(stack: Stack) -> Fault:
    prefix = f"/{stack.topology.output_bucket}/processed/"
    return stack.inject(Fault("PutObject", lambda url: prefix in url, fail=lambda n: False))


def test_stale_reprocess_after_a_variant_change_renders_exactly_the_stale_images_once(stack: Stack) -> None:
    # Given three images rendered under the default variants, then a variant change (a new deploy)
    # and a fourth image rendered under the new variants
    upload_and_process(stack, OLD, seed=10)
    stack.configure(IMGPIPE_VARIANTS=json.dumps(NEW_VARIANTS))
    upload_and_process(stack, ("img_new",), seed=20)
    before = render_ids(stack, (*OLD, "img_new"))
    new_hash = config_hash([VariantSpec.model_validate(v) for v in NEW_VARIANTS])

    # When `reprocess --stale` runs and the worker takes every message it queued
    queued = reprocess(stack, "--stale")
    messages = stack.drain(queued["queued"])
    puts = count_variant_puts(stack)
    assert failed_ids(stack.process(messages)) == []

    # Then exactly the three old images were selected, each rendered once under the new variants
    assert queued["configHash"] == new_hash
    assert sorted(u["imageId"] for u in queued["uploads"]) == list(OLD)
    assert {u["reason"] for u in queued["uploads"]} == {"variants changed"}
    assert puts.calls == len(OLD) * len(NEW_VARIANTS)
    after = render_ids(stack, (*OLD, "img_new"))
    assert after["img_new"] == before["img_new"]
    for image_id in OLD:
        assert after[image_id] != before[image_id]
        manifest = stack.manifest(image_id)
        assert manifest is not None and manifest["pipeline"]["configHash"] == new_hash
        assert [v["name"] for v in manifest["variants"]] == ["small", "thumbnail"]
        # the replaced render is gone; only the new manifest's keys are left under the image
        assert stack.output_keys(f"processed/u1/{image_id}/") == sorted(
            v["key"] for v in manifest["variants"]
        )

    # And a second stale run finds nothing; a full reprocess queues all four, the worker renders none
    assert reprocess(stack, "--stale")["queued"] == 0
    everything = reprocess(stack)
    assert everything["queued"] == 4
    assert failed_ids(stack.process(stack.drain(4))) == []
    assert puts.calls == len(OLD) * len(NEW_VARIANTS)
    assert render_ids(stack, (*OLD, "img_new")) == after


def test_reprocess_of_one_user_dry_run_sends_nothing(stack: Stack) -> None:
    # Given uploads of two users and a key the worker would refuse
    items = [
        ("uploads/u1/img_one.jpg", images.tiny_jpeg()),
        ("uploads/u2/img_two.jpg", images.tiny_jpeg()),
        ("uploads/u1/not a valid id.jpg", images.tiny_jpeg()),
    ]
    stack.upload_and_receive(items)
    # When one user's uploads are reprocessed as a dry run, then for real
    dry = reprocess(stack, "--user", "u1", "--dry-run")
    real = reprocess(stack, "--user", "u1")
    # Then the dry run listed that user's valid upload and left the queue empty; the real run sent
    # one event the worker parses back to the same object and ETag
    assert dry["dryRun"] and dry["queued"] == 0
    assert [u["key"] for u in dry["uploads"]] == ["uploads/u1/img_one.jpg"]
    assert dry["invalidKeys"] == ["uploads/u1/not a valid id.jpg"]
    assert real["queued"] == 1
    (message,) = stack.drain(1)
    from worker.events import parse_body

    (ref,) = parse_body(message["Body"])
    assert (ref.bucket, ref.key, ref.etag) == (stack.topology.input_bucket, "uploads/u1/img_one.jpg",
                                               dry["uploads"][0]["etag"])  # fmt: skip
    assert (
        stack.sqs.receive_message(QueueUrl=stack.topology.queue_url, WaitTimeSeconds=1).get("Messages")
        is None
    )


def test_stale_with_variants_the_workers_do_not_run_warns(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given images the workers rendered under their configuration, and a CLI shell whose
    # IMGPIPE_VARIANTS is another one
    upload_and_process(stack, ("img_w1", "img_w2"), seed=70)
    monkeypatch.setenv("IMGPIPE_VARIANTS", json.dumps(NEW_VARIANTS))
    # When a stale reprocess is looked at
    result = runner.invoke(
        cli.app,
        ["reprocess", "--bucket", stack.topology.input_bucket, "--stale", "--dry-run", "--json"],
    )
    # Then every image is selected, and a warning says no manifest was rendered under this
    # configuration, naming the one the workers use
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["selected"] == 2
    assert "no manifest was rendered under this IMGPIPE_VARIANTS" in result.stderr
    assert "2 were rendered under" in result.stderr


def test_reprocess_leaves_out_and_names_an_upload_whose_owner_deleted_the_image(stack: Stack) -> None:
    # Given an image whose deletion wrote its tombstone and was cut off before removing the upload
    from shared.errors import RetryableError
    from worker.api.deletion import delete_image

    key = "uploads/u1/img_gone.jpg"
    stack.upload_and_receive([(key, images.tiny_jpeg())])
    deleter = stack.session.client("s3")

    def cut_off(**_: Any) -> None:
        raise ConnectionError("the API function timed out here")

    deleter.meta.events.register("before-send.s3.DeleteObjects", cut_off)
    deleter.meta.events.register("before-send.s3.DeleteObject", cut_off)
    buckets = {"input_bucket": stack.topology.input_bucket, "output_bucket": stack.topology.output_bucket}
    with pytest.raises((RetryableError, ConnectionError)):
        delete_image(deleter, **buckets, user_id="u1", image_id="img_gone")
    assert (stack.manifest("img_gone") or {}).get("status") == "deleted"
    # When all of that user's uploads are reprocessed
    dry = reprocess(stack, "--user", "u1", "--dry-run")
    # Then the upload is still listed, but named as deleted and never selected
    assert dry["listed"] == 1
    assert dry["uploads"] == []
    assert dry["deleted"] == [key]
