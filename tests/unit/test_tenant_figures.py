"""The tenants scenario's figures, from hand-made ledgers: which small uploads count as "while the
burst drained", the ratios, and the line the scenario ends with."""

from __future__ import annotations

import pytest

from loadtest.load.tenant_figures import TenantFigures, burst_window, drain_window
from loadtest.load.tracker import Upload

pytestmark = pytest.mark.unit


def upload(
    user: str, asked: float, waited_s: float, seen_s: float | None = None, outcome: str = "complete"
) -> Upload:
    """Asked for at `asked`, sent in 10 ms, its variants there `waited_s` after the ask, seen by the
    app `seen_s` after it (polling rounds up: a little later by default)."""
    return Upload(
        image_id=f"{user}-{asked}",
        key=f"uploads/{user}/{user}-{int(asked * 10)}.jpg",
        payload="p.jpg",
        put_started=asked,
        put_ms=10,
        outcome=outcome,
        e2e_ms=(seen_s if seen_s is not None else waited_s + 0.4) * 1000,
        requested=asked,
        processed_at=asked + waited_s if outcome != "lost" else None,
    )


def burst(start: float, seconds: float, count: int = 20) -> list[Upload]:
    # every photo asked for (and sent) within the first second, the last manifest `seconds` after
    return [upload("burst", start + i / count, seconds * (i + 1) / count) for i in range(count)]


def test_a_burst_drains_from_its_last_upload_landing_to_its_last_manifest() -> None:
    photos = burst(100.0, 30.0)
    assert burst_window(photos).start == 100.0
    assert drain_window(photos).start == pytest.approx(100.96)
    assert drain_window(photos).end == burst_window(photos).end == pytest.approx(130.95)


def test_only_small_photos_asked_for_while_the_burst_drained_count() -> None:
    # Given small photos before, while the burst is sent, while it drains, and after
    small = [
        upload("t0", 90.0, 9.0),
        upload("t1", 100.5, 7.0),
        upload("t1", 105.0, 2.0),
        upload("t2", 125.0, 3.0),
        upload("t0", 140.0, 50.0),
    ]
    figures = TenantFigures(
        idle=[upload("t0", 1.0, 1.0)], alone=burst(0.0, 30.0), burst=burst(100.0, 30.0), small=small
    )
    # Then the two asked for in the drain are measured, the one asked for while it was sent apart
    assert [u.started for u in figures.during] == [105.0, 125.0]
    assert [u.started for u in figures.landing] == [100.5]
    assert figures.small_done_before_burst()
    # and the line reports how long their variants took (p95) against the idle one
    assert figures.line() == (
        "tenants: small_p95_ms=3000 small_idle_p95_ms=1000 small_ratio=3.00 burst_drain_vs_alone=1.00 lost=0"
    )


def test_the_apps_polling_is_beside_the_figures_not_in_them() -> None:
    figures = TenantFigures(
        idle=[upload("t", 1.0, 0.3, seen_s=0.5)],
        alone=burst(0.0, 30.0),
        burst=burst(100.0, 30.0),
        small=[upload("t", 110.0, 0.6, seen_s=1.25)],
    )
    assert figures.small_ratio == pytest.approx(2.0)
    assert "waited p95 600 ms (the app saw 1250 ms)" in "\n".join(figures.details())


def test_the_burst_drain_ratio_is_alone_over_beside() -> None:
    figures = TenantFigures(idle=[], alone=burst(0.0, 45.0), burst=burst(100.0, 50.0), small=[], lost=2)
    assert figures.drain_vs_alone == pytest.approx(44.99 / 49.99)
    assert figures.line().endswith("lost=2")


def test_a_small_photo_stuck_behind_the_burst_is_not_done_before_it() -> None:
    # Given one queue: the small photo asked for mid-drain ends after the burst's last image
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


def test_with_no_small_upload_during_the_drain_nothing_is_claimed() -> None:
    figures = TenantFigures(
        idle=[], alone=burst(0.0, 30.0), burst=burst(100.0, 30.0), small=[upload("t", 200.0, 1.0)]
    )
    assert not figures.small_done_before_burst()
    assert figures.small_ratio == 0.0


def test_the_burst_alone_is_the_mean_of_its_runs_before_and_after() -> None:
    # Given the burst alone drained in 30 s, then 50 s (the machine got busier), and 40 s beside the tenants
    figures = TenantFigures(
        idle=[], alone=burst(0.0, 30.0), burst=burst(100.0, 40.0), small=[], alone_again=burst(200.0, 50.0)
    )
    # Then the small tenants cost it nothing: 40 s against the mean of 30 and 50
    assert figures.alone_drain_s == pytest.approx(39.99)
    assert figures.drain_vs_alone == pytest.approx(1.0)
