"""`deploy.local.demo.run` end to end: signed in through the client API, pre-signed POSTs to S3,
S3 -> SNS -> SQS, worker processes, results read back through `GET /v1/images/{id}`, contact sheet."""

from __future__ import annotations

import html
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageChops, ImageStat

from deploy.local.contact_sheet import Entry
from deploy.local.motoserver import free_port
from shared.variants import DEFAULT_VARIANTS
from tests.e2e.conftest import DemoRun
from tests.e2e.support import VARIANT_NAMES, processes_using_port

pytestmark = pytest.mark.e2e

MAX_WALL_S = 40.0


def _entries(run: DemoRun) -> dict[str, Entry]:
    """Each file's entry, with the API's final answer for it."""
    entries = {}
    for entry in run.result.entries:
        assert entry.image is not None, f"{entry.filename}: no answer from the API ({entry.reason})"
        entries[entry.filename] = entry
    return entries


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def test_demo_finishes_in_time_with_one_entry_per_upload(demo_run: DemoRun) -> None:
    assert demo_run.wall_s < MAX_WALL_S, f"demo took {demo_run.wall_s:.1f} s"
    assert [e.filename for e in demo_run.result.entries] == [p.name for p in demo_run.inputs.files]
    image_ids = [e.image_id for e in demo_run.result.entries]
    assert len(set(image_ids)) == len(image_ids)
    assert demo_run.result.page == demo_run.out / "index.html"


def test_every_good_image_is_complete_with_five_variants_on_disk(demo_run: DemoRun) -> None:
    entries = _entries(demo_run)
    for name in demo_run.inputs.good:
        entry = entries[name]
        image = entry.image
        assert image is not None and image["status"] == "complete", f"{name}: {entry.why}"
        assert image["error"] is None
        assert image["originalFilename"] == name
        assert tuple(v["name"] for v in image["variants"]) == VARIANT_NAMES
        folder = demo_run.out / entry.image_id
        assert (folder / "image.json").is_file()
        for variant, spec in zip(image["variants"], DEFAULT_VARIANTS, strict=True):
            path = folder / entry.files[variant["name"]]
            assert path.is_file(), f"{name}: {path} missing"
            assert path.stat().st_size == variant["bytes"]
            with Image.open(path) as picture:
                assert picture.size == (variant["width"], variant["height"]), f"{name} {variant['name']}"
            if spec.fit == "cover":
                assert (variant["width"], variant["height"]) == (spec.width, spec.height)
            else:
                assert spec.width is None or variant["width"] <= spec.width
                assert spec.height is None or variant["height"] <= spec.height


def test_rotated_photo_comes_out_upright(demo_run: DemoRun) -> None:
    entry = _entries(demo_run)[demo_run.inputs.rotated]
    upright = demo_run.inputs.rotated_upright
    assert entry.image is not None
    original = next(v for v in entry.image["variants"] if v["name"] == "original")
    assert (original["width"], original["height"]) == upright.size  # stored turned, served upright
    with Image.open(demo_run.out / entry.image_id / entry.files["original"]) as picture:
        # Viewers must not rotate it a second time.
        assert picture.getexif().get(0x0112, 1) == 1
        pixels = picture.convert("RGB")
    same = _mean_difference(pixels, upright)
    turned = _mean_difference(pixels, upright.rotate(180))
    assert same < 12, f"original differs from the upright photo by {same:.1f} on average"
    assert same * 4 < turned


@pytest.mark.parametrize(
    ("which", "error_type"), [("corrupt", "CorruptImage"), ("text", "UnsupportedFormat")]
)
def test_bad_uploads_fail_with_a_reason_a_person_can_act_on(
    demo_run: DemoRun, which: str, error_type: str
) -> None:
    entry = _entries(demo_run)[getattr(demo_run.inputs, which)]
    assert entry.image is not None
    assert entry.image["status"] == "failed"
    error = entry.image["error"]
    assert error["type"] == error_type
    assert error["reason"].strip() and error["detail"].strip()
    assert entry.image["variants"] is None
    assert not (demo_run.out / entry.image_id).exists()


def test_queues_settle_with_the_two_bad_uploads_in_the_dlq(demo_run: DemoRun) -> None:
    assert demo_run.result.dlq.visible == 2
    assert demo_run.result.queue.visible == demo_run.result.queue.in_flight == 0


def test_contact_sheet_names_every_file_and_both_reasons(demo_run: DemoRun) -> None:
    page = demo_run.result.page.read_text(encoding="utf-8")
    for path in demo_run.inputs.files:
        assert html.escape(path.name) in page, path.name
    entries = _entries(demo_run)
    for name in (demo_run.inputs.corrupt, demo_run.inputs.text):
        error = entries[name].image["error"]  # type: ignore[index]  # _entries checked it is there
        assert html.escape(f"{error['type']}: {error['reason']}") in page
    total, good = len(demo_run.inputs.files), len(demo_run.inputs.good)
    assert f"{good} of {total} uploads processed" in page


def test_nothing_is_left_running(demo_run: DemoRun) -> None:
    port = urlsplit(demo_run.result.endpoint).port
    assert port is not None
    assert processes_using_port(port) == []


def test_process_scan_finds_a_process_naming_the_port() -> None:
    """The leftover check can fail: a stand-in with the workers' and server's arguments is seen."""
    port = free_port()
    command = [
        sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)",
        "-p", str(port), "--queue-url", f"http://127.0.0.1:{port}/123456789012/imgpipe-work",
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as stand_in:
        try:
            assert stand_in.stdout is not None
            assert stand_in.stdout.readline() == "ready\n"  # exec'd: /proc shows its own arguments
            found = processes_using_port(port)
        finally:
            stand_in.kill()
    assert [line.split(":", 1)[0] for line in found] == [str(stand_in.pid)]
    assert processes_using_port(port) == []
