"""How a load-test client follows and sends its uploads: the polling backoff, what each answer
does to the ledger, and which files of a batch are sent and counted."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.client import ApiError, UploadRefused
from loadtest.load.app import Client
from loadtest.load.follow import CAP_S, FIRST_POLL_S, Follower, next_wait
from loadtest.load.tracker import Tracker, Upload

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _tracker() -> tuple[Tracker, list[tuple[str, float, Exception | None]]]:
    fired: list[tuple[str, float, Exception | None]] = []
    return Tracker(lambda name, ms, exc: fired.append((name, ms, exc))), fired


def test_the_waits_grow_from_half_a_second_to_the_cap() -> None:
    # Given the backoff, When the waits are chained from the first poll
    waits = [next_wait(None)]
    for _ in range(8):
        waits.append(next_wait(waits[-1]))
    # Then they start at half a second, grow by half each time, and stop growing at CAP_S
    assert waits[:4] == [FIRST_POLL_S, 0.75, 1.125, 1.6875]
    assert waits[-2:] == [CAP_S, CAP_S] and max(waits) == CAP_S


def test_an_image_is_polled_on_its_backoff_until_its_final_status() -> None:
    # Given an image that is pending for its first three polls, then complete (manifest at t+2 s)
    clock, (tracker, fired) = Clock(), _tracker()
    answers = [{"status": "pending"}] * 3 + [{"status": "complete", "processedAt": "1970-01-01T00:16:42Z"}]
    asked: list[float] = []

    def image(image_id: str) -> dict[str, Any]:
        asked.append(clock.now)
        return answers[len(asked) - 1]

    follower = Follower(image, tracker, clock)
    upload = Upload("img", "uploads/sub-1/img.jpg", "thumb_320.jpg", 1000.0, 0.0, requested=999.5)
    tracker.track(upload)
    # When its client follows it from the end of its transfer (t=1000) until nothing is left
    follower.follow(upload, 1000.0)
    follower.run(lambda: False, clock.sleep)
    # Then it was asked 0.5 s after the transfer, then after waits of 0.5, 0.75 and 1.125 s, and no more
    assert [round(t - 1000, 4) for t in asked] == [0.5, 1.0, 1.75, 2.875]
    # And the e2e fired is the ask -> the poll that saw it complete; the pipeline's part ends at the manifest
    assert [(name, round(ms, 1), exc) for name, ms, exc in fired] == [("complete", 3375.0, None)]
    assert upload.polls == 4 and upload.processed_at == 1002.0 and upload.pipeline_ms == 2500.0


def test_uploads_are_asked_about_oldest_first_and_the_next_at_once_when_one_ends() -> None:
    # Given three uploads sent at t=1000, 1000.1 and 1003.9 s, done at 1002, 1001 and 1005 s
    clock, (tracker, _) = Clock(), _tracker()
    asked: list[tuple[str, float]] = []
    done_at = {"a": 1002.0, "b": 1001.0, "c": 1005.0}

    def image(image_id: str) -> dict[str, Any]:
        asked.append((image_id, round(clock.now - 1000, 4)))
        return {"status": "complete" if clock.now >= done_at[image_id] else "pending"}

    follower = Follower(image, tracker, clock)
    for name, sent in (("a", 1000.0), ("b", 1000.1), ("c", 1003.9)):
        upload = Upload(name, f"uploads/s/{name}.jpg", "x.jpg", sent, 0.0, requested=sent)
        tracker.track(upload)
        follower.follow(upload, sent)
    # When the client follows them to their end
    follower.run(lambda: False, clock.sleep)
    # Then it asks about `a` on its backoff (waits 0.5, 0.75, 1.125 s), never about `b` meanwhile,
    # then about `b` at once (done before `a`: seen late), then about `c` no sooner than half a
    # second after its transfer, its waits starting again from 0.5 s
    assert asked == [("a", 0.5), ("a", 1.0), ("a", 1.75), ("a", 2.875), ("b", 2.875),
                     ("c", 4.4), ("c", 4.9), ("c", 5.65)]  # fmt: skip
    assert {u.outcome for u in tracker.uploads.values()} == {"complete"}


def test_a_failed_call_is_asked_again_and_a_failed_image_is_quarantined() -> None:
    # Given an image whose first status call fails (the API answers 503), then says failed
    clock, (tracker, fired) = Clock(), _tracker()
    replies: list[dict[str, Any] | Exception] = [
        ApiError(503, {"title": "Service Unavailable"}),
        {"status": "failed", "processedAt": "1970-01-01T00:16:41Z"},
    ]

    def image(image_id: str) -> dict[str, Any]:
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    follower = Follower(image, tracker, clock)
    upload = Upload("bad", "uploads/sub-1/bad.jpg", "poison_text.jpg", 1000.0, 0.0, requested=1000.0)
    tracker.track(upload)
    follower.follow(upload, 1000.0)
    # When it is followed to its end
    follower.run(lambda: False, clock.sleep)
    # Then the failed call was retried on the backoff and the image ended quarantined
    assert upload.outcome == "quarantined" and upload.polls == 2 and not replies
    assert [name for name, _, exc in fired if exc is None] == ["quarantined"]


def test_an_upload_the_run_gave_up_on_is_polled_no_more() -> None:
    # Given an image that never ends, followed by its client
    clock, (tracker, fired) = Clock(), _tracker()
    follower = Follower(lambda image_id: {"status": "pending"}, tracker, clock)
    upload = Upload("slow", "uploads/sub-1/slow.jpg", "vga_640.jpg", 1000.0, 0.0, requested=1000.0)
    tracker.track(upload)
    follower.follow(upload, 1000.0)
    follower.poll_once()
    # When the run gives up on it (--drain-timeout)
    tracker.give_up()
    # Then it is lost, fired as a failed e2e, and its client has nothing left to poll
    assert upload.outcome == "lost" and isinstance(fired[-1][2], TimeoutError)
    assert follower.next_at() is None


FORM = {"url": "http://s3/bucket", "fields": {"key": "k"}}


class FakeApi:
    """The calls a client makes, answered from what the test says."""

    def __init__(self, refuse_send: set[str] | None = None) -> None:
        self.refuse_send = refuse_send or set()
        self.sent: list[str] = []

    def created(self, n: int) -> dict[str, Any]:
        return {"imageId": f"img{n}", "key": f"uploads/sub-7/img{n}.jpg", "upload": FORM}

    def create_upload(self, filename: str, content_type: str, size: int) -> dict[str, Any]:
        if filename == "refused.gif":
            raise ApiError(415, {"title": "Unsupported Media Type"})
        return self.created(0)

    def create_uploads(self, files: list[dict[str, Any]]) -> dict[str, Any]:
        items: list[dict[str, Any]] = [
            {"index": i, "status": 415, "problem": {}} if f["filename"] == "refused.gif"
            else {"index": i, "status": 201, "upload": self.created(i)}
            for i, f in enumerate(files)
        ]  # fmt: skip
        created = sum("upload" in item for item in items)
        return {"items": items, "created": created, "refused": len(items) - created}

    def send(self, created: dict[str, Any], data: bytes, filename: str) -> None:
        if filename in self.refuse_send:
            raise UploadRefused(403, "AccessDenied", "")
        self.sent.append(created["imageId"])


def test_a_batch_sends_each_file_that_got_a_form_and_counts_the_rest() -> None:
    # Given a bulk uploader's chunk: two photos, a file the API refuses, one S3 refuses
    clock, (tracker, _) = Clock(), _tracker()
    api = FakeApi(refuse_send={"late.jpg"})
    client = Client(api, tracker, Follower(lambda i: {}, tracker, clock), clock)  # type: ignore[arg-type]
    files = [("a.jpg", b"1"), ("refused.gif", b"2"), ("late.jpg", b"3"), ("b.jpg", b"4")]
    # When it asks for the forms in one batch call and sends the files
    client.upload_batch(files)
    # Then the two that reached S3 are tracked under their keys, e2e starting at the one ask
    assert api.sent == ["img0", "img3"]
    assert sorted(tracker.uploads) == ["img0", "img3"]
    assert {u.requested for u in tracker.uploads.values()} == {1000.0}
    assert {u.user for u in tracker.uploads.values()} == {"sub-7"}
    # And the refused one and the one S3 did not take are counted as never sent
    assert client.not_sent == 2


def test_a_refused_single_upload_is_counted_not_tracked() -> None:
    # Given a client asking for one form per file
    clock, (tracker, _) = Clock(), _tracker()
    client = Client(FakeApi(), tracker, Follower(lambda i: {}, tracker, clock), clock)  # type: ignore[arg-type]
    # When the API refuses one file and takes another
    client.upload(("refused.gif", b"x"))
    client.upload(("ok.jpg", b"y"))
    # Then only the taken one is tracked
    assert list(tracker.uploads) == ["img0"] and client.not_sent == 1
