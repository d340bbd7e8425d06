"""The tenants scenario, short (issue 23): one tenant's burst through the batch call beside small
tenants uploading a photo every few seconds, on a local stack with lanes. Nothing is lost, and the
small tenants' photos asked for while the burst drained are done before the burst is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.load import tracker
from loadtest.load.tenant_figures import TenantFigures
from loadtest.load.tenants import RECONCILED

pytestmark = [pytest.mark.e2e, pytest.mark.load]

LINE = re.compile(
    r"^tenants: small_p95_ms=(?P<small>\d+) small_idle_p95_ms=(?P<idle>\d+) small_ratio=(?P<ratio>[\d.]+)"
    r" burst_drain_vs_alone=(?P<drain>[\d.]+) lost=(?P<lost>\d+)$",
    re.M,
)


def _phase(out: Path, name: str) -> list[tracker.Upload]:
    return tracker.read(out / "phases" / name / RECONCILED)


def test_a_burst_beside_small_tenants_loses_nothing_and_leaves_them_first(tmp_path: Path) -> None:
    # Given a local stack with lanes, and a tenant that will send 40 phone photos through the
    # batch call on four connections, and three small tenants uploading one photo every 2 s
    command = [sys.executable, "-m", "loadtest.run", "--scenario", "tenants", "--images", "40",
               "--profile", "photos", "--users", "4", "--tenants", "3", "--tenant-every", "2",
               "--idle-seconds", "6", "--drain-timeout", "60", "--max-seconds", "120",
               "--out", str(tmp_path)]  # fmt: skip
    # When the phases run (small tenants alone, the burst alone, both, the burst alone and the
    # small tenants alone again) and reconcile
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    # Then it exits 0 with the tenants line, nothing lost
    assert done.returncode == 0, done.stdout + done.stderr
    match = LINE.search(done.stdout)
    assert match, done.stdout
    assert int(match["lost"]) == 0 and int(match["idle"]) > 0
    # And the burst was one tenant's (one sub), the small uploads three other tenants'
    burst, small = _phase(tmp_path, "burst"), _phase(tmp_path, "small")
    assert len({u.user for u in burst}) == 1 and len(burst) == 40
    assert len({u.user for u in small}) == 3 and not {u.user for u in small} & {u.user for u in burst}
    # And small photos were asked for while the burst drained (behind its backlog on one queue),
    # yet every one of them was done before the burst was
    idle = [*_phase(tmp_path, "idle"), *_phase(tmp_path, "idle-again")]
    figures = TenantFigures(idle, _phase(tmp_path, "alone"), burst, small, 0, _phase(tmp_path, "alone-again"))
    assert figures.during, figures.details()
    assert figures.small_done_before_burst(), figures.details()
