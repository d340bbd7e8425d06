"""`make chaos` in small: uploads through a faulty, killed, duplicated local stack.

`make test` runs 80 uploads with every kind of chaos in it (each fault kind, worker and router
kills, each poison kind, duplicates, stale events and imageId clashes); the 200-upload run at
`make chaos`'s own shares is marked `slow` (`make test-slow`). Most of either run is the
visibility timeout a killed batch waits out (61 s), not the uploads, so the small one keeps
the same `--timeout`: a shorter one would start fewer records per batch and depend on the
machine's speed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.chaos.mix import POISON
from loadtest.load import tracker

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

LINE = re.compile(
    r"^chaos: uploaded=(?P<uploaded>\d+) complete=(?P<complete>\d+) quarantined=(?P<quarantined>\d+)"
    r" \(poison=(?P<poison>\d+)\) lost=(?P<lost>\d+) inconsistent=(?P<inconsistent>\d+)"
    r" duplicate_image_work=(?P<duplicate_work>\d+) max_receive_count=(?P<max_receive>\d+)"
    r" stuck=(?P<stuck>\d+)$",
    re.M,
)


def _chaos(out: Path, uploads: int, *shares: str, kill_every_s: int = 8) -> dict[str, int]:
    """Run the chaos runner (the busiest worker SIGKILLed every `kill_every_s`, every third kill the
    router's) to its end; assert it passed and that the chaos really happened; its verdict's counts."""
    command = [sys.executable, "-m", "loadtest.chaos", "--uploads", str(uploads), "--users", "10",
               "--kill-every", str(kill_every_s), *shares, "--drain-timeout", "150", "--max-seconds", "240",
               "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=420)
    # It passes: nothing lost, inconsistent or stuck, and exactly the poison quarantined
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    match = LINE.search(done.stdout)
    assert match, done.stdout
    counts = {name: int(value) for name, value in match.groupdict().items()}
    assert counts["uploaded"] == uploads
    assert counts["lost"] == counts["inconsistent"] == counts["stuck"] == 0
    assert counts["quarantined"] == counts["poison"]
    assert counts["complete"] + counts["quarantined"] == uploads
    # Every poison kind was sent, and every poison upload ended quarantined, every other complete
    sent = tracker.read(out / "uploads.jsonl")
    assert {u.payload for u in sent if u.outcome == "quarantined"} == set(POISON)
    assert {u.outcome for u in sent if u.payload not in POISON} == {"complete"}
    # And the chaos really happened: every fault kind, kills, duplicates, redeliveries
    faults = re.search(r"^faults injected: (.*)$", done.stdout, re.M)
    assert faults, done.stdout
    injected = dict(item.split("=") for item in faults.group(1).split(", "))
    assert set(injected) == {"latency", "slowdown", "error500", "reset", "timeout"}
    kills = re.search(r"^kills: (\d+); duplicate deliveries sent: (\d+);", done.stdout, re.M)
    # three kills or more: the killer's third turn is always the router's (a worker's when busy)
    assert kills and int(kills.group(1)) >= 3 and int(kills.group(2)) >= 5, done.stdout
    assert counts["max_receive"] >= 2
    return counts


def test_uploads_under_every_fault_kill_and_poison_kind_and_duplicates_end_accounted(tmp_path: Path) -> None:
    # Given 80 uploads: 10% of worker requests faulted, 5% poison (one of each of the four kinds,
    # spread over the run), 20% sent twice and 5% re-uploaded or sharing an imageId: every kind of
    # chaos, in a run short enough for `make test`
    shares = ["--poison", "0.05", "--duplicates", "0.2", "--interleave", "0.05"]
    # When it runs to its end, the killer taking a turn every 4 s: the kills stop with the uploads,
    # which a quiet machine sends in about 25 s, and three turns must come before (measured: with
    # 8 s, a quiet CI machine's run made two kills and failed)
    counts = _chaos(tmp_path, 80, *shares, kill_every_s=4)
    # Then it passed with every poison kind quarantined, once each
    assert counts["poison"] == len(POISON)


@pytest.mark.slow
def test_two_hundred_uploads_under_faults_kills_and_duplicates_end_accounted(tmp_path: Path) -> None:
    # Given `make chaos`'s shares (10% faulted, 3% poison, 5% sent twice) and 2% re-uploaded or
    # sharing an imageId, over 200 uploads
    # When it runs to its end
    counts = _chaos(tmp_path, 200, "--interleave", "0.02")
    # Then it passed, six poison uploads quarantined (each kind at least once)
    assert counts["poison"] == 6
