"""Locust's distributed mode: each worker process uploads its share, and only its share."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from loadtest.load.shares import Share

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("images", "uploaders"), [(1000, 4), (7, 3), (2, 5), (30, 1)])
def test_the_shares_cover_every_upload_once(images: int, uploaders: int) -> None:
    # Given `uploaders` worker processes, each with its index
    options = SimpleNamespace(uploaders=uploaders, processes=None)
    shares = [Share.of(options, index) for index in range(uploaders)]
    # When each takes every uploaders-th upload from its index
    taken = [i for share in shares for i in range(share.index, images, share.uploaders)]
    # Then every upload of the run is sent exactly once, and each count says how many are its own
    assert sorted(taken) == list(range(images))
    assert sum(share.count(images) for share in shares) == images


def test_processes_stand_in_for_uploaders_and_a_lone_process_takes_all() -> None:
    # Given `--processes 3` without `--uploaders`, and a process that is no worker at all
    assert Share.of(SimpleNamespace(uploaders=0, processes=3), 2) == Share(2, 3)
    assert Share.of(SimpleNamespace(uploaders=0, processes=None), None) == Share(0, 1)


def test_each_worker_writes_a_ledger_of_its_own() -> None:
    path = Path("out/loadtest/uploads.jsonl")
    assert Share(0, 1).ledger(path) == path
    assert Share(2, 4).ledger(path) == Path("out/loadtest/uploads.2.jsonl")


def test_a_worker_beyond_the_uploaders_is_refused() -> None:
    # Given a fifth worker joining a run planned for four uploaders
    # Then it refuses to guess a share (it would upload some images twice, or none)
    with pytest.raises(ValueError, match="worker 4 has no share of 4 uploaders: set --uploaders"):
        Share.of(SimpleNamespace(uploaders=4, processes=None), 4)
