"""The tenants scenario, short (issue 23): one tenant's burst through the batch call beside small
tenants uploading a photo every second or two, on a local stack with lanes. Nothing is lost, and
the small tenants' photos asked for while the burst drained are done before the burst is.

`make test` runs a burst of 20 phone photos; the 40-photo run is marked `slow` (`make test-slow`).
Much of a run is its five phases' fixed costs (a locust start and sign-in each), which a smaller
burst does not shorten; its small tenants upload twice as often, so that several of their photos
are still asked for while the shorter burst drains.
"""

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
TENANTS = 3


def _phase(out: Path, name: str) -> list[tracker.Upload]:
    return tracker.read(out / "phases" / name / RECONCILED)


def _tenants(out: Path, images: int, every_s: str, idle_s: str) -> None:
    """Run the scenario: a burst of `images` photos (four connections) beside three small tenants
    each uploading a photo every `every_s`; check what it must hold."""
    command = [sys.executable, "-m", "loadtest.run", "--scenario", "tenants", "--images", str(images),
               "--profile", "photos", "--users", "4", "--tenants", str(TENANTS), "--tenant-every", every_s,
               "--idle-seconds", idle_s, "--drain-timeout", "60", "--max-seconds", "120",
               "--out", str(out)]  # fmt: skip
    # When the phases run (small tenants alone, the burst alone, both, the burst alone and the
    # small tenants alone again) and reconcile
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    # Then it exits 0 with the tenants line, nothing lost
    assert done.returncode == 0, done.stdout + done.stderr
    match = LINE.search(done.stdout)
    assert match, done.stdout
    assert int(match["lost"]) == 0 and int(match["idle"]) > 0
    # And it says what the bulk pool ran under (the ceiling, or none where no cgroup is given)
    assert re.search(r"^bulk_ceiling: (cores=[\d.]+ throttled_periods=\d+|none \()", done.stdout, re.M), (
        done.stdout
    )
    # And the burst was one tenant's (one sub), the small uploads the other tenants'
    burst, small = _phase(out, "burst"), _phase(out, "small")
    assert len({u.user for u in burst}) == 1 and len(burst) == images
    assert len({u.user for u in small}) == TENANTS and not {u.user for u in small} & {u.user for u in burst}
    # And small photos were asked for while the burst drained (behind its backlog on one queue),
    # yet every one of them was done before the burst was
    idle = [*_phase(out, "idle"), *_phase(out, "idle-again")]
    figures = TenantFigures(idle, _phase(out, "alone"), burst, small, 0, _phase(out, "alone-again"))
    assert figures.during, figures.details()
    assert figures.small_done_before_burst(), figures.details()


def test_a_burst_beside_small_tenants_loses_nothing_and_leaves_them_first(tmp_path: Path) -> None:
    # Given a local stack with lanes, a tenant that will send 20 phone photos through the batch
    # call, and three small tenants uploading one photo every second (4 s alone before and after)
    _tenants(tmp_path, 20, every_s="1", idle_s="4")


@pytest.mark.slow
def test_a_burst_of_forty_beside_small_tenants_loses_nothing_and_leaves_them_first(tmp_path: Path) -> None:
    # Given the same with 40 phone photos, the small tenants uploading every 2 s (6 s alone)
    _tenants(tmp_path, 40, every_s="2", idle_s="6")
