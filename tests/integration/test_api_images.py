"""What a user reads through the client API, against the moto server: each status of an image,
their own images newest first a page at a time, and nothing of anyone else's (404, never 403)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.keys import manifest_key
from tests.api_support import Answer, call, http_event
from tests.fixtures import images
from tests.integration.conftest import SLOW_DOWN, Stack
from worker.api.app import create_app
from worker.api.aws import READERS, s3_client
from worker.api.settings import load_api_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def api(stack: Stack) -> Iterator[Any]:
    stack.configure(IMGPIPE_INPUT_BUCKET=stack.topology.input_bucket)
    s3_client.cache_clear()
    yield create_app(load_api_settings()).resolve
    s3_client.cache_clear()


def _upload(stack: Stack, api: Any, body: bytes, sub: str = "alice", name: str = "photo.jpg") -> str:
    """Sign through the API, then store the bytes at the signed key; the new imageId."""
    request = {"filename": name, "contentType": "image/jpeg", "size": len(body)}
    signed = call(api, http_event("POST", "/v1/uploads", request, sub=sub)).json()
    stack.s3.put_object(Bucket=stack.topology.input_bucket, Key=signed["key"], Body=body)
    return str(signed["imageId"])


def _get(api: Any, image_id: str, sub: str = "alice") -> Answer:
    return call(api, http_event("GET", f"/v1/images/{image_id}", sub=sub))


def _tombstone(stack: Stack, image_id: str, user_id: str) -> None:
    document = {"schema": 1, "status": "deleted", "imageId": image_id, "userId": user_id}
    stack.s3.put_object(
        Bucket=stack.topology.output_bucket, Key=manifest_key(image_id), Body=json.dumps(document)
    )


def test_an_upload_not_yet_processed_is_pending(stack: Stack, api: Any) -> None:
    image_id = _upload(stack, api, images.photo_jpeg(64, 48))
    answer = _get(api, image_id)
    assert answer.status == 200
    assert answer.json() == {
        "imageId": image_id, "status": "pending", "originalFilename": None, "processedAt": None,
        "variants": None, "urlsExpireAt": None, "error": None, "placeholder": None,
    }  # fmt: skip


def test_a_failed_image_says_why_in_words_and_keeps_the_type(stack: Stack, api: Any) -> None:
    # Given an upload that is text named .jpg, processed by the worker
    image_id = _upload(stack, api, b"this is not an image, whatever its name says\n" * 4)
    (message,) = stack.drain(1)
    assert stack.process([message]) == {"batchItemFailures": []}
    # Then the API reports it failed, with a sentence a person can act on and the worker's type
    view = _get(api, image_id).json()
    assert view["status"] == "failed" and view["variants"] is None
    assert view["error"]["type"] == "UnsupportedFormat"
    assert view["error"]["reason"].startswith("The file is not an image type imgpipe takes")
    assert "not an allowed image format" in view["error"]["detail"]


def test_a_deleted_image_is_deleted(stack: Stack, api: Any) -> None:
    image_id = _upload(stack, api, images.photo_jpeg(64, 48))
    stack.s3.delete_object(Bucket=stack.topology.input_bucket, Key=f"uploads/alice/{image_id}.jpg")
    _tombstone(stack, image_id, "alice")
    answer = _get(api, image_id)
    assert answer.status == 200 and answer.json()["status"] == "deleted"


def test_an_unknown_image_is_not_found(api: Any) -> None:
    answer = _get(api, "0000000000000-0000000000000000")
    assert (answer.status, answer.problem_type) == (404, "not-found")


def test_another_users_image_is_not_found_in_every_state(stack: Stack, api: Any) -> None:
    # Given bob's images: one pending, one complete, one deleted
    pending = _upload(stack, api, images.photo_jpeg(64, 48), sub="bob")
    complete = _upload(stack, api, images.photo_jpeg(64, 48, seed=2), sub="bob")
    deleted = _upload(stack, api, images.photo_jpeg(64, 48, seed=3), sub="bob")
    messages = stack.drain(3)
    done = [m for m in messages if complete in m["Body"]]
    assert stack.process(done) == {"batchItemFailures": []}
    _tombstone(stack, deleted, "bob")
    assert [_get(api, i, sub="bob").json()["status"] for i in (pending, complete, deleted)] == [
        "pending", "complete", "deleted",
    ]  # fmt: skip
    # When alice asks for each, then each is the same "not found" as an id that never existed
    never = _get(api, "0000000000000-0000000000000000")
    for image_id in (pending, complete, deleted):
        answer = _get(api, image_id, sub="alice")
        assert (answer.status, answer.problem_type) == (404, "not-found")
        assert answer.json()["detail"] == never.json()["detail"].replace(
            "0000000000000-0000000000000000", image_id
        )
        assert "bob" not in answer.text
    # and her listing is empty
    assert call(api, http_event("GET", "/v1/images", sub="alice")).json() == {
        "images": [],
        "nextCursor": None,
    }


def test_the_listing_is_newest_first_a_page_at_a_time(stack: Stack, api: Any) -> None:
    # Given five uploads of alice, a millisecond apart, one of bob, and a stray non-image key
    ids = []
    for seed in range(5):
        ids.append(_upload(stack, api, images.photo_jpeg(32, 24, seed=seed)))
        time.sleep(0.002)
    _upload(stack, api, images.photo_jpeg(32, 24), sub="bob")
    stack.s3.put_object(Bucket=stack.topology.input_bucket, Key="uploads/alice/README", Body=b"x")
    # When she pages through her images two at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = call(api, http_event("GET", "/v1/images", query=query)).json()
        seen += [image["imageId"] for image in page["images"]]
        assert all(image["status"] == "pending" for image in page["images"])
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    # Then she sees exactly her own, newest first
    assert seen == list(reversed(ids))
    assert pages == 3


def test_the_default_page_is_twenty(stack: Stack, api: Any) -> None:
    for _ in range(21):
        _upload(stack, api, b"x")
    page = call(api, http_event("GET", "/v1/images")).json()
    assert len(page["images"]) == 20 and page["nextCursor"] is not None


def test_a_pages_manifests_are_read_a_bounded_number_at_a_time(stack: Stack, api: Any) -> None:
    # Given more images on a page than the API reads at once
    for _ in range(READERS * 2 + 3):
        _upload(stack, api, b"x")
    in_flight, peak, lock = 0, 0, threading.Lock()

    def count(**_: Any) -> None:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.05)
        with lock:
            in_flight -= 1

    s3_client().meta.events.register("before-send.s3.GetObject", count)
    # When the page is listed, then its manifests were read concurrently, never more than READERS
    page = call(api, http_event("GET", "/v1/images", query={"limit": "100"})).json()
    assert len(page["images"]) == READERS * 2 + 3
    assert 1 < peak <= READERS


def test_a_busy_s3_is_a_503_problem_to_retry(stack: Stack, api: Any) -> None:
    image_id = _upload(stack, api, b"x")

    def slow_down(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        status, body = SLOW_DOWN
        headers: Any = {"content-type": "application/xml"}
        return AWSResponse(request.url, status, headers, _Raw(body))

    s3_client().meta.events.register("before-send.s3.GetObject", slow_down)
    answer = _get(api, image_id)
    assert (answer.status, answer.problem_type) == (503, "unavailable")
    assert answer.headers["retry-after"] == "1"


class _Raw:
    """The part of a urllib3 response botocore reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self._data
