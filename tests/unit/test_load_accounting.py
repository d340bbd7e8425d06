"""The load test's own arithmetic: the payload mix, percentiles, the drain and the summary line."""

from __future__ import annotations

import pytest

from deploy.ops.dlq.report import DEPTH_NAMES, queue_depth
from loadtest.load import payloads
from loadtest.load.ledger import Ledger
from loadtest.load.plot import per_second, throughput
from loadtest.load.report import Drain, drain, drain_after_uploads, headline, percentile, summary
from loadtest.load.tracker import Upload, processed_at

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("profile", sorted(payloads.PROFILES))
def test_a_cycle_holds_every_class_by_weight(profile: str) -> None:
    # Given the classes of a profile
    classes = payloads.PROFILES[profile]()
    # When one cycle of the mix is laid out
    cycle = payloads.schedule(classes)
    # Then each class appears exactly its weight's number of times, poison included
    assert {c.name: cycle.count(c.name) for c in classes} == {c.name: c.weight for c in classes}
    assert any(payloads.is_poison(name) for name in cycle)


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5])
def test_a_poison_share_sets_the_share_of_poison_uploads(share: float) -> None:
    # Given the small profile's classes
    classes = payloads.PROFILES["small"]()
    # When the mix asks for `share` poison
    cycle = payloads.schedule(classes, share)
    # Then that share of one cycle is poison, to within one file per poison class
    poison = sum(payloads.is_poison(name) for name in cycle)
    assert abs(poison / len(cycle) - share) < 2 / len(cycle) + 0.05


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.5, 0.0),
        ([5.0], 0.99, 5.0),
        ([1, 2, 3, 4], 0.5, 2),
        ([1, 2, 3, 4], 0.95, 4),
        (list(range(1, 101)), 0.95, 95),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], share: float, expected: float) -> None:
    # Given values, When a percentile is taken, Then it is the nearest-rank one
    assert percentile(values, share) == expected


def test_the_drain_runs_from_the_first_put_to_the_last_complete_manifest() -> None:
    # Given two complete uploads and a quarantined one that ended later
    uploads = [
        Upload("a", "k/a", "thumb_320.jpg", put_started=100.0, put_ms=5, outcome="complete", e2e_ms=1000),
        Upload("b", "k/b", "vga_640.jpg", put_started=101.0, put_ms=5, outcome="complete", e2e_ms=3000),
        Upload(
            "c", "k/c", "poison_text.jpg", put_started=102.0, put_ms=5, outcome="quarantined", e2e_ms=9000
        ),
    ]
    # When the drain is measured
    rate = drain(uploads)
    # Then it counts the complete images over first PUT -> last complete manifest (4 s)
    assert (rate.images, rate.seconds, rate.per_s) == (2, 4.0, 0.5)


def test_the_drain_ends_at_each_manifest_not_at_the_poll_that_saw_it() -> None:
    # Given two images a client saw complete late (its polls back off), whose manifests were
    # written at 102 s and 103 s, asked for at 100 s
    uploads = [
        Upload("a", "k/a", "thumb_320.jpg", put_started=100.5, put_ms=5, outcome="complete", e2e_ms=6000,
               requested=100.0, processed_at=102.0),
        Upload("b", "k/b", "vga_640.jpg", put_started=101.0, put_ms=5, outcome="complete", e2e_ms=9000,
               requested=100.0, processed_at=103.0),
    ]  # fmt: skip
    # When the drain is measured
    rate = drain(uploads)
    # Then it runs from the first transfer to the last manifest (2.5 s), not to the last poll
    assert (rate.images, rate.seconds) == (2, 2.5)
    # And each upload's pipeline part runs from the ask to its manifest
    assert [u.pipeline_ms for u in uploads] == [2000.0, 3000.0]


def test_the_summary_line_has_the_documented_shape() -> None:
    # Given a ledger with a lost image and a drain at half the engine's rate
    ledger = Ledger(uploaded=3, complete=1, quarantined=1, lost=["x"])
    uploads = [Upload("a", "k", "thumb_320.jpg", 0.0, 1.0, "complete", 2000.0)]
    # When the summary is made, with the upload-form call's p50 and p95 from locust's stats
    line = summary(ledger, uploads, drain(uploads), engine_per_s=1.0, asks=(6.4, 21.0))
    # Then it is the one line the issue specifies, and the ledger says the run failed
    assert line == (
        "loadtest: uploaded=3 complete=1 quarantined=1 lost=1 drain_images_per_s=0.50"
        " e2e_p50_ms=2000 e2e_p95_ms=2000 upload_url_p50_ms=6 upload_url_p95_ms=21 drain_vs_engine=0.50"
    )
    assert not ledger.ok


def test_processed_at_reads_the_manifest_clock() -> None:
    # Given the manifest's ISO time, When read, Then it is epoch seconds with milliseconds
    assert processed_at("1970-01-01T00:00:01.250Z") == 1.25


def test_a_queue_depth_is_read_in_one_all_request() -> None:
    # Given an SQS client that records what it is asked
    calls: list[list[str]] = []

    class Sqs:
        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, object]:  # noqa: N803
            calls.append(AttributeNames)
            return {"Attributes": dict(zip(DEPTH_NAMES, ("7", "3", "1"), strict=True)) | {"Policy": "{}"}}

    # When one queue's depth is read (the sampler's and `imgpipe status`'s way)
    depth = queue_depth(Sqs(), "http://127.0.0.1:1/q")  # type: ignore[arg-type]  # the one call it makes
    # Then one request for All gives the visible, in-flight and delayed counts
    assert calls == [["All"]]
    assert (depth.visible, depth.in_flight, depth.delayed) == (7, 3, 1)


def test_the_drain_after_the_uploads_counts_only_what_ended_after_the_last_put() -> None:
    # Given an image done during the uploads, one done after them, and a late quarantine
    uploads = [
        Upload("a", "k/a", "thumb_320.jpg", put_started=100.0, put_ms=500, outcome="complete", e2e_ms=1000),
        Upload("b", "k/b", "vga_640.jpg", put_started=101.0, put_ms=1000, outcome="complete", e2e_ms=5000),
        Upload(
            "c", "k/c", "poison_text.jpg", put_started=101.5, put_ms=5, outcome="quarantined", e2e_ms=9000
        ),
    ]
    # When the drain after the last PUT (ended at 102 s) is measured
    rate = drain_after_uploads(uploads)
    # Then it counts the one complete image that ended after it, over 102 s -> 106 s
    assert (rate.images, rate.seconds, rate.per_s) == (1, 4.0, 0.25)


def test_throughput_bins_uploads_and_outcomes_by_second() -> None:
    # Given three uploads PUT at t=0.2, 0.7 and 1.5 s, ending complete, quarantined and lost
    uploads = [
        Upload("a", "k", "thumb_320.jpg", 100.2, 50.0, "complete", 1000.0),
        Upload("b", "k", "poison_text.jpg", 100.7, 50.0, "quarantined", 2500.0),
        Upload("c", "k", "vga_640.jpg", 101.5, 50.0, "lost", None),
    ]
    # When they are binned from t=100 s
    flows = {name: per_second([t - 100 for t in times]) for name, times in throughput(uploads).items()}
    # Then each second counts what happened in it, and the lost upload has no end
    assert flows == {"uploaded": [2, 1], "complete": [0, 1], "quarantined": [0, 0, 0, 1]}


def _burst(during: int, after: int) -> list[Upload]:
    # `during` images done while the uploads went on, `after` done once the last PUT (ending at
    # 110 s) had ended, one a second, and a quarantine
    uploads = [
        Upload(f"d{i}", f"k/d{i}", "vga_640.jpg", put_started=100.0, put_ms=1000, outcome="complete",
               e2e_ms=1000 + 1000 * i)
        for i in range(during)
    ]  # fmt: skip
    uploads += [
        Upload(f"a{i}", f"k/a{i}", "vga_640.jpg", put_started=101.0, put_ms=1000, outcome="complete",
               e2e_ms=10_000 + 1000 * i)
        for i in range(1, after + 1)
    ]  # fmt: skip
    uploads.append(Upload("p", "k/p", "poison_text.jpg", 105.0, 5000, "quarantined", 9000))
    return uploads


def _drains(uploads: list[Upload]) -> tuple[Drain, Drain]:
    return drain(uploads), drain_after_uploads(uploads)


def test_a_burst_is_judged_by_its_drain_after_the_uploads_with_the_whole_beside_it() -> None:
    # Given a local burst with 2 images done during its uploads and 8 after its last PUT
    uploads = _burst(during=2, after=8)
    # When its headline drain is chosen
    judged, whole = headline("burst", drain(uploads), drain_after_uploads(uploads))
    # Then it is the drain once the last PUT ended (110 s -> 119 s), with the whole window beside
    assert (judged.images, judged.seconds) == (8, 9.0)
    assert whole is not None and (whole.images, whole.seconds) == (10, 19.0)
    # And the line carries both ratios, the whole one last
    line = summary(Ledger(uploaded=11, complete=10, quarantined=1), uploads, judged, 1.0, whole)
    assert line.endswith(" drain_vs_engine=0.89 with_uploads_vs_engine=0.53"), line


@pytest.mark.parametrize("scenario", ["steady", "poison", "redrive"])
def test_scenarios_that_upload_while_they_drain_are_judged_by_the_whole_window(scenario: str) -> None:
    # Given uploads that go on while the queue drains, When the headline drain is chosen
    judged, whole = headline(scenario, *_drains(_burst(during=2, after=8)))
    # Then it is the whole window, with nothing beside it
    assert (judged.images, judged.seconds, whole) == (10, 19.0, None)


def test_a_burst_against_aws_is_judged_by_the_whole_window() -> None:
    # Given a burst whose uploads went to AWS, on no core of the workers'
    judged, whole = headline("burst", *_drains(_burst(during=2, after=8)), local=False)
    # Then it is the whole window
    assert (judged.images, whole) == (10, None)


@pytest.mark.parametrize(("during", "after"), [(5, 4), (9, 1), (3, 0)])
def test_a_burst_that_left_no_backlog_is_judged_by_the_whole_window(during: int, after: int) -> None:
    # Given a burst the workers mostly kept up with: under half its images ended after the last PUT
    judged, whole = headline("burst", *_drains(_burst(during, after)))
    # Then its few late images do not make the figure: it is the whole window
    assert (judged.images, whole) == (during + after, None)
