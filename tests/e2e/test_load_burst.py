"""A short locust burst through the whole local stack, its clients going through the client API as
apps do: every upload must be accounted for."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.load import tracker

pytestmark = [pytest.mark.e2e, pytest.mark.load]

LINE = re.compile(
    r"^loadtest: uploaded=(?P<uploaded>\d+) complete=(?P<complete>\d+) quarantined=(?P<quarantined>\d+)"
    r" lost=(?P<lost>\d+) drain_images_per_s=[\d.]+ e2e_p50_ms=\d+ e2e_p95_ms=\d+"
    r" upload_url_p50_ms=(?P<url_p50>\d+) upload_url_p95_ms=\d+ drain_vs_engine=[\d.]+"
    r"(?: with_uploads_vs_engine=[\d.]+)?$",
    re.M,
)


def test_a_short_burst_loses_nothing_and_quarantines_every_poison_file(tmp_path: Path) -> None:
    # Given a local stack started by the runner, and 30 small generated photos (poison among them)
    command = [sys.executable, "-m", "loadtest.run", "--scenario", "burst", "--images", "30",
               "--users", "6", "--workers", "2", "--drain-timeout", "60", "--max-seconds", "90",
               "--out", str(tmp_path)]  # fmt: skip
    # When six signed-in clients ask the API for a form per file, POST each to S3 and poll each
    # image's status, all at once, and the run reconciles
    done = subprocess.run(command, capture_output=True, text=True, timeout=150)
    # Then it exits 0 with the ledger line: all 30 uploaded, none lost, every one ended
    assert done.returncode == 0, done.stdout + done.stderr
    match = LINE.search(done.stdout)
    assert match, done.stdout
    counts = {name: int(value) for name, value in match.groupdict().items()}
    assert counts["uploaded"] == 30 and counts["lost"] == 0 and counts["url_p50"] > 0
    assert counts["complete"] + counts["quarantined"] == 30
    # And every poison file ended quarantined, every good one complete, each as its client saw it
    uploads = tracker.read(tmp_path / "uploads.jsonl")
    assert {u.outcome for u in uploads if u.payload.startswith("poison_")} == {"quarantined"}
    assert {u.outcome for u in uploads if not u.payload.startswith("poison_")} == {"complete"}
    assert all(u.polls >= 1 and u.processed_at is not None for u in uploads)
    # And each client uploaded under its own sub (six users), none under a shared name
    assert len({u.user for u in uploads}) == 6 and "loadtest" not in {u.user for u in uploads}
    # And locust's own reports hold the e2e request type beside the API's routes and the transfer
    stats = (tmp_path / "locust_stats.csv").read_text()
    assert "e2e,complete" in stats and "e2e,quarantined" in stats and "POST,S3 POST (signed form)" in stats
    rows = list(csv.DictReader(io.StringIO(stats)))
    calls = {(r["Type"], r["Name"]): int(r["Request Count"]) for r in rows}
    assert calls[("POST", "/v1/uploads")] == 30 and calls[("GET", "/v1/images/{imageId}")] >= 30
    # And locust's CSV counts every outcome, the last poll's included
    assert sum(int(r["Request Count"]) for r in rows if r["Type"] == "e2e") == 30
    assert (tmp_path / "locust.html").stat().st_size > 0
    # And the run's last lines give the API's figures and e2e beside what polling added
    assert re.search(r"^api: POST /v1/uploads p50=\d+ms p95=\d+ms \(30 calls, 0 failed\)", done.stdout, re.M)
    assert re.search(r"^e2e: as the clients saw it .* polling added p50=\d+ms", done.stdout, re.M)


def test_a_redrive_while_uploading_loses_and_doubles_nothing(tmp_path: Path) -> None:
    # Given the `redrive` scenario through `imgpipe loadtest`: a fifth of 30 uploads poison, the
    # DLQ redriven back to work every second while the uploads go on, two locust processes, and
    # clients that ask for their forms five files a POST /v1/uploads/batch, as bulk uploaders do
    command = [sys.executable, "-m", "deploy.cli", "loadtest", "--scenario", "redrive", "--images", "30",
               "--users", "6", "--workers", "2", "--drain-timeout", "60", "--max-seconds", "90",
               "--redrive-every", "1", "--processes", "2", "--batch", "5", "--no-engine",
               "--out", str(tmp_path)]  # fmt: skip
    # When the run ends and reconciles
    done = subprocess.run(command, capture_output=True, text=True, timeout=150)
    # Then it exits 0: nothing lost, each poison file quarantined and in the DLQ exactly once
    assert done.returncode == 0, done.stdout + done.stderr
    match = LINE.search(done.stdout)
    assert match, done.stdout
    assert int(match["lost"]) == 0 and int(match["quarantined"]) >= 1
    assert "not in the DLQ" not in done.stdout and "more than once" not in done.stdout
    # And quarantined records really were redriven (and came back) during the run
    redriven = re.search(r"^ledger: .* redriven=(\d+)$", done.stdout, re.M)
    assert redriven and int(redriven[1]) >= 1, done.stdout
    # And each locust process uploaded its half and wrote its own ledger
    halves = [tracker.read(tmp_path / f"uploads.{index}.jsonl") for index in (0, 1)]
    assert [len(half) for half in halves] == [15, 15]
    assert len({u.image_id for half in halves for u in half}) == 30
    # And the forms came from the batch call (six or more calls of up to five), none one by one
    rows = list(csv.DictReader(io.StringIO((tmp_path / "locust_stats.csv").read_text())))
    calls = {(r["Type"], r["Name"]): int(r["Request Count"]) for r in rows}
    assert 6 <= calls[("POST", "/v1/uploads/batch")] <= 10 and ("POST", "/v1/uploads") not in calls
    # And the users of both processes are distinct: no two clients share a sub
    users = [{u.user for u in half} for half in halves]
    assert users[0] and users[1] and not users[0] & users[1]
