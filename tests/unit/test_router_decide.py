"""The router's choice of lane: the client API's mark first, then the tenant's unmarked rate."""

from __future__ import annotations

import pytest

from shared.lanes import BULK, INTERACTIVE, Lane, marked_lane
from worker.router import decide
from worker.router.decide import TenantRates, choose

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lanes_of(rates: TenantRates, tenant: str | None, marks: list[list[Lane | None]]) -> list[Lane]:
    """Each message's lane, as the router decides it: the rate first, the marks only below it."""
    return [choose(mark, tenant is not None and rates.over(tenant)) for mark in marks]


def test_an_upload_the_batch_call_marked_goes_bulk() -> None:
    rates = TenantRates(per_minute=100, clock=Clock())
    assert lanes_of(rates, "alice", [[BULK], [None, BULK], [None], []]) == [
        BULK,
        BULK,
        INTERACTIVE,
        INTERACTIVE,
    ]


def test_a_tenant_over_its_rate_goes_bulk_through_whatever_call() -> None:
    # Given a rate of 3 uploads a minute
    rates = TenantRates(per_minute=3, clock=Clock())
    # When alice sends 5 through the single-upload call, then her first 3 are interactive
    assert lanes_of(rates, "alice", [[None]] * 5) == [INTERACTIVE] * 3 + [BULK] * 2
    # and bob, under his rate, is not affected
    assert lanes_of(rates, "bob", [[None]]) == [INTERACTIVE]


def test_a_burst_counts_against_its_tenants_rate_so_its_own_photos_wait_behind_it() -> None:
    # Given bob's bulk import through the batch call, past his rate
    rates = TenantRates(per_minute=2, clock=Clock())
    assert lanes_of(rates, "bob", [[BULK]] * 10) == [BULK] * 10
    # Then a photo from his phone app waits behind his own burst, in the bulk lane
    assert lanes_of(rates, "bob", [[None]]) == [BULK]


def test_a_minute_later_the_tenant_is_interactive_again() -> None:
    clock = Clock()
    rates = TenantRates(per_minute=2, clock=clock)
    assert lanes_of(rates, "alice", [[None]] * 3)[-1] == BULK
    clock.now += decide.WINDOW_S
    assert lanes_of(rates, "alice", [[None]]) == [INTERACTIVE]


def test_with_the_rule_off_only_the_mark_decides() -> None:
    rates = TenantRates(per_minute=0, clock=Clock())
    assert set(lanes_of(rates, "alice", [[None]] * 1000)) == {INTERACTIVE}
    assert lanes_of(rates, "alice", [[BULK]]) == [BULK]


def test_a_message_with_no_tenant_is_interactive() -> None:
    rates = TenantRates(per_minute=1, clock=Clock())
    assert lanes_of(rates, None, [[]] * 5) == [INTERACTIVE] * 5


def test_the_quietest_tenants_are_forgotten_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given room for 2 tenants
    monkeypatch.setattr(decide, "MAX_TENANTS", 2)
    rates = TenantRates(per_minute=1, clock=Clock())
    rates.count("alice")
    rates.count("bob")
    rates.count("alice")  # alice seen again: bob is now the quietest
    # When a third tenant comes, then alice is still counted and bob starts again from one
    rates.count("carol")
    assert rates.count("alice") == 3
    assert rates.count("bob") == 1


@pytest.mark.parametrize(
    ("metadata", "lane"),
    [
        ({"imgpipe-lane": "bulk"}, BULK),
        ({"imgpipe-lane": " Bulk "}, BULK),
        ({"imgpipe-lane": "interactive"}, INTERACTIVE),
        ({"imgpipe-lane": "express"}, None),
        ({"original-filename": "a.jpg"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_the_mark_is_read_from_the_uploads_metadata(
    metadata: dict[str, str] | None, lane: str | None
) -> None:
    assert marked_lane(metadata) == lane
