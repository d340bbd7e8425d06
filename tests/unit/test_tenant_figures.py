"""The tenants scenario's figures, from hand-made ledgers: which small uploads count as "during the
burst", the ratios, and the line the scenario ends with."""

from __future__ import annotations

import pytest

from loadtest.load.tenant_figures import TenantFigures, burst_window
from loadtest.load.tracker import Upload

pytestmark = pytest.mark.unit


def upload(
    user: str, asked: float, e2e_s: float, done_s: float | None = None, outcome: str = "complete"
) -> Upload:
    """Asked for at `asked`, seen final `e2e_s` later, its manifest written `done_s` after the ask."""
    done = asked + (done_s if done_s is not None else e2e_s)
    return Upload(
        image_id=f"{user}-{asked}",
        key=f"uploads/{user}/{user}-{int(asked * 10)}.jpg",
        payload="p.jpg",
        put_started=asked,
        put_ms=10,
        outcome=outcome,
        e2e_ms=e2e_s * 1000,
        requested=asked,
        processed_at=done if outcome != "lost" else None,
    )


def burst(start: float, seconds: float, count: int = 20) -> list[Upload]:
    # every photo asked for in the first second, the last manifest `seconds` after the start
    return [upload("burst", start + i / count, seconds * (i + 1) / count) for i in range(count)]


def test_a_burst_runs_from_its_first_ask_to_its_last_manifest() -> None:
    window = burst_window(burst(100.0, 30.0))
    assert window.start == 100.0
    assert window.end == pytest.approx(130.95)


def test_only_small_uploads_asked_for_while_the_burst_drained_count() -> None:
    # Given small uploads before, during and after a burst from t=100 to ~131
    small = [
        upload("t0", 90.0, 9.0),
        upload("t1", 105.0, 2.0),
        upload("t2", 125.0, 3.0),
        upload("t0", 140.0, 50.0),
    ]
    figures = TenantFigures(
        idle=[upload("t0", 1.0, 1.0)], alone=burst(0.0, 30.0), burst=burst(100.0, 30.0), small=small
    )
    # Then the two asked for during it are the ones measured
    assert [u.started for u in figures.during] == [105.0, 125.0]
    assert figures.small_done_before_burst()
    # and the line reports their p95 against the idle one
    assert figures.line() == (
        "tenants: small_p95_ms=3000 small_idle_p95_ms=1000 small_ratio=3.00 burst_drain_vs_alone=1.00 lost=0"
    )


def test_the_burst_drain_ratio_is_alone_over_beside() -> None:
    figures = TenantFigures(idle=[], alone=burst(0.0, 45.0), burst=burst(100.0, 50.0), small=[], lost=2)
    assert figures.drain_vs_alone == pytest.approx(45.95 / 50.95)
    assert figures.line().endswith("lost=2")


def test_a_small_upload_stuck_behind_the_burst_is_not_done_before_it() -> None:
    # Given one queue: the small upload asked for mid-burst ends after the burst's last image
    small = [upload("t1", 110.0, 25.0)]
    figures = TenantFigures(
        idle=[upload("t1", 1.0, 1.0)], alone=burst(0.0, 30.0), burst=burst(100.0, 30.0), small=small
    )
    assert not figures.small_done_before_burst()
    assert figures.small_ratio == pytest.approx(25.0)


def test_poison_and_lost_uploads_say_nothing_about_waiting() -> None:
    small = [
        upload("t1", 105.0, 2.0),
        upload("t2", 106.0, 99.0, outcome="quarantined"),
        upload("t3", 107.0, 80.0, outcome="lost"),
    ]
    figures = TenantFigures(
        idle=[upload("t1", 1.0, 1.0)], alone=burst(0.0, 30.0), burst=burst(100.0, 30.0), small=small
    )
    assert figures.small_ratio == pytest.approx(2.0)


def test_with_no_small_upload_during_the_burst_nothing_is_claimed() -> None:
    figures = TenantFigures(
        idle=[], alone=burst(0.0, 30.0), burst=burst(100.0, 30.0), small=[upload("t", 200.0, 1.0)]
    )
    assert not figures.small_done_before_burst()
    assert figures.small_ratio == 0.0
