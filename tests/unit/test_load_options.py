"""The load test's options are checked before anything starts: one line, exit 2."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from deploy.local.cpu_cap import BULK_CPU_SHARE, CpuCap
from deploy.local.lanes import LanePlan
from loadtest.load import options, payloads
from loadtest.load.options import AWS_NEEDS, DEFAULT_WORKERS, parse

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--images", "0"], "--images must be above 0 (got 0)"),
        (["--users", "-1"], "--users must be above 0 (got -1)"),
        (["--workers", "0"], "--workers must be above 0"),
        (["--processes", "0"], "--processes must be above 0"),
        (["--drain-timeout", "-5"], "--drain-timeout must be above 0 (got -5)"),
        (["--max-seconds", "0"], "--max-seconds must be above 0"),
        (["--redrive-every", "0"], "--redrive-every must be above 0"),
        (["--scenario", "steady"], "--scenario steady needs --rate R"),
        (["--rate", "5"], "--rate is for --scenario steady; burst uploads as fast as it can"),
        (["--target", "aws"], "--target aws needs IMGPIPE_API_URL, IMGPIPE_USER_POOL_ID,"),
        (
            ["--target", "aws"],
            "IMGPIPE_INPUT_BUCKET, IMGPIPE_OUTPUT_BUCKET, IMGPIPE_QUEUE_URL, IMGPIPE_DLQ_URL set",
        ),
        (["--batch", "101"], "--batch is 0 (one POST /v1/uploads a file) to 100 (got 101)"),
        (["--batch", "-1"], "--batch is 0"),
        (["--out", "/proc/no/such/place"], "--out /proc/no/such/place: cannot create it"),
        (["--scenario", "nope"], "invalid choice: 'nope'"),
        (["--bulk-s3-at-once", "-1"], "--bulk-s3-at-once is 0 (no limit) or more (got -1)"),
        (["--bulk-s3-at-once", "2", "--lanes", "off"], "S3 requests: it needs --lanes on"),
        (["--bulk-s3-at-once", "1", "--target", "aws"], "--bulk-s3-at-once is for the local stack"),
        (["--bulk-cpu-share", "1.5"], "--bulk-cpu-share is 0 (no ceiling) to 1 (got 1.5)"),
        (["--bulk-cpu-share", "-0.1"], "--bulk-cpu-share is 0 (no ceiling) to 1 (got -0.1)"),
        (["--bulk-cpu-share", "0.5", "--lanes", "off"], "bulk lane's workers: it needs --lanes on"),
        (["--bulk-cpu-share", "0.5", "--target", "aws"], "--bulk-cpu-share is for the local stack"),
    ],
)
def test_a_bad_value_is_one_line_and_exit_2(
    args: list[str], needle: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in AWS_NEEDS:
        monkeypatch.delenv(name, raising=False)
    # When the runner is given a value it cannot work with
    with pytest.raises(SystemExit) as done:
        parse(args)
    # Then it says which, in one line pointing at --help, and exits 2 before starting anything
    lines = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 2
    assert len(lines) == 1 and needle in lines[0] and "--help" in lines[0], lines


def test_the_defaults_are_a_small_burst_with_a_worker_more_than_the_cores(tmp_path: Path) -> None:
    args = parse(["--out", str(tmp_path / "new" / "folder")])
    chosen = (args.scenario, args.images, args.profile, args.workers, args.batch)
    assert chosen == ("burst", 100, "small", DEFAULT_WORKERS, 0)
    assert (tmp_path / "new" / "folder").is_dir()


@pytest.mark.parametrize(
    ("args", "batch"),
    [(["--profile", "photos"], 25), (["--profile", "photos", "--batch", "0"], 0),
     (["--profile", "full"], 0), (["--batch", "100"], 100)],
)  # fmt: skip
def test_a_camera_roll_asks_for_its_forms_in_batches(args: list[str], batch: int, tmp_path: Path) -> None:
    # Given a profile (the photos profile is a phone syncing its camera roll) and maybe --batch
    # Then its clients ask for forms that many files a POST /v1/uploads/batch (0: one call a file)
    assert parse([*args, "--out", str(tmp_path)]).batch == batch


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--poison-share", "2"], "--poison-share must be from 0 to 0.95 (got 2)"),
        ([], "is a file, not a folder"),
    ],
)
def test_the_payload_generator_refuses_what_it_cannot_do(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a file where the payload folder should go (or a share of poison past the limit)
    target = tmp_path / "taken"
    target.write_text("not a folder")
    folder = target if not args else tmp_path / "new"
    # When the generator is asked for payloads there
    with pytest.raises(SystemExit) as done:
        payloads.main([str(folder), *args])
    # Then it says why and exits 2, having written nothing
    assert done.value.code == 2 and needle in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_the_bulk_gate_is_off_by_default_and_sets_the_lane_plan(tmp_path: Path) -> None:
    assert options.lane_plan(parse(["--out", str(tmp_path)])) == LanePlan()
    gated = parse(["--out", str(tmp_path), "--bulk-s3-at-once", "2"])
    assert options.lane_plan(gated) == LanePlan(bulk_s3_at_once=2)
    cores = LanePlan().bulk_cores()
    assert options.lanes_words(gated) == (
        f"lanes on, the bulk pool's CPU at most {cores:.2g} of {os.cpu_count()} cores,"
        " a gate: the bulk pool's S3 requests 2 at most at once"
    )
    assert options.lane_plan(parse(["--out", str(tmp_path), "--lanes", "off"])) is None


def test_the_bulk_pools_cpu_ceiling_is_the_stacks_unless_given(tmp_path: Path) -> None:
    default, half, none = (
        parse(["--out", str(tmp_path), *extra])
        for extra in ([], ["--bulk-cpu-share", "0.5"], ["--bulk-cpu-share", "0"])
    )
    assert options.lane_plan(default) == LanePlan(bulk_cpu_share=BULK_CPU_SHARE)
    assert options.lane_plan(half) == LanePlan(bulk_cpu_share=0.5)
    assert options.lane_plan(none) == LanePlan(bulk_cpu_share=None)
    assert options.lanes_words(none) == "lanes on"
    cores = os.cpu_count() or 1
    assert (
        options.lanes_words(half)
        == f"lanes on, the bulk pool's CPU at most {0.5 * cores:.2g} of {cores} cores"
    )


def test_the_run_says_what_ceiling_the_bulk_pool_ran_under(tmp_path: Path) -> None:
    (tmp_path / "cpu.stat").write_text("nr_periods 40\nnr_throttled 3\nthrottled_time 900\n")
    lanes = LanePlan()
    capped = SimpleNamespace(lanes=lanes, bulk_cap=CpuCap(tmp_path, 1, 1.0))
    assert options.ceiling_lines(capped) == ["bulk_ceiling: cores=1 throttled_periods=3"]
    (none,) = options.ceiling_lines(SimpleNamespace(lanes=lanes, bulk_cap=None))
    assert none.startswith("bulk_ceiling: none (")
    assert options.ceiling_lines(SimpleNamespace(lanes=None, bulk_cap=None)) == []
