"""The router's choice of lane: the client API's mark first, then the tenant's unmarked rate."""

from __future__ import annotations

import pytest

from shared.lanes import BULK, INTERACTIVE, marked_lane
from worker.router import decide
from worker.router.decide import TenantRates, choose

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_upload_the_batch_call_marked_goes_bulk_whatever_the_rate() -> None:
    rates = TenantRates(per_minute=100, clock=Clock())
    assert choose([BULK], "alice", rates) == BULK
    assert choose([None, BULK], "alice", rates) == BULK  # any upload of a message marked bulk


def test_unmarked_uploads_go_bulk_once_their_tenant_passes_its_rate() -> None:
    # Given a rate of 3 unmarked uploads a minute
    rates = TenantRates(per_minute=3, clock=Clock())
    # When alice sends 5 and bob 1, then alice's first 3 and bob's are interactive
    lanes = [choose([None], "alice", rates) for _ in range(5)]
    assert lanes == [INTERACTIVE] * 3 + [BULK] * 2
    assert choose([None], "bob", rates) == INTERACTIVE


def test_a_minute_later_the_tenant_is_interactive_again() -> None:
    clock = Clock()
    rates = TenantRates(per_minute=2, clock=clock)
    assert [choose([None], "alice", rates) for _ in range(3)][-1] == BULK
    clock.now += decide.WINDOW_S
    assert choose([None], "alice", rates) == INTERACTIVE


def test_marked_uploads_do_not_count_against_the_rate() -> None:
    # Given alice's bulk import through the batch call
    rates = TenantRates(per_minute=2, clock=Clock())
    for _ in range(50):
        assert choose([BULK], "alice", rates) == BULK
    # Then a photo from her phone app still goes interactive
    assert choose([None], "alice", rates) == INTERACTIVE


def test_with_the_rule_off_unmarked_uploads_are_always_interactive() -> None:
    rates = TenantRates(per_minute=0, clock=Clock())
    assert {choose([None], "alice", rates) for _ in range(1000)} == {INTERACTIVE}


def test_a_message_with_no_tenant_is_interactive() -> None:
    rates = TenantRates(per_minute=1, clock=Clock())
    assert [choose([], None, rates) for _ in range(5)] == [INTERACTIVE] * 5


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
