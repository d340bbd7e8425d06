"""`make chaos` in small: 200 uploads through a faulty, killed, duplicated local stack."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.e2e]

LINE = re.compile(
    r"^chaos: uploaded=(?P<uploaded>\d+) complete=(?P<complete>\d+) quarantined=(?P<quarantined>\d+)"
    r" \(poison=(?P<poison>\d+)\) lost=(?P<lost>\d+) inconsistent=(?P<inconsistent>\d+)"
    r" duplicate_image_work=(?P<duplicate_work>\d+) max_receive_count=(?P<max_receive>\d+)"
    r" stuck=(?P<stuck>\d+)$",
    re.M,
)


def test_two_hundred_uploads_under_faults_kills_and_duplicates_end_accounted(tmp_path: Path) -> None:
    # Given the chaos runner: 10% of worker requests faulted, 3% poison, 5% sent twice, 2% re-uploaded
    # or sharing an imageId, and the busiest worker SIGKILLed every 8 s
    command = [sys.executable, "-m", "loadtest.chaos", "--uploads", "200", "--users", "10",
               "--kill-every", "8", "--interleave", "0.02", "--drain-timeout", "150",
               "--max-seconds", "240", "--out", str(tmp_path)]  # fmt: skip
    # When it runs to its end
    done = subprocess.run(command, capture_output=True, text=True, timeout=420)
    # Then it passes: nothing lost, inconsistent or stuck, and exactly the poison quarantined
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    match = LINE.search(done.stdout)
    assert match, done.stdout
    counts = {name: int(value) for name, value in match.groupdict().items()}
    assert counts["uploaded"] == 200 and counts["poison"] == 6
    assert counts["lost"] == counts["inconsistent"] == counts["stuck"] == 0
    assert counts["quarantined"] == counts["poison"]
    assert counts["complete"] + counts["quarantined"] == 200
    # And the chaos really happened: every fault kind, kills, duplicates, redeliveries
    faults = re.search(r"^faults injected: (.*)$", done.stdout, re.M)
    assert faults, done.stdout
    injected = dict(item.split("=") for item in faults.group(1).split(", "))
    assert set(injected) == {"latency", "slowdown", "error500", "reset", "timeout"}
    kills = re.search(r"^kills: (\d+); duplicate deliveries sent: (\d+);", done.stdout, re.M)
    assert kills and int(kills.group(1)) >= 1 and int(kills.group(2)) >= 5, done.stdout
    assert counts["max_receive"] >= 2
