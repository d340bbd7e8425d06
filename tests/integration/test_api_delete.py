"""Deleting through the client API, against the moto server: the owner's image goes (and stays
gone when its event arrives late), another user's is a 404 and untouched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import Answer, call, http_event
from tests.fixtures import images
from tests.integration.conftest import Stack
from worker.api.app import create_app
from worker.api.aws import s3_client
from worker.api.settings import load_api_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def api(stack: Stack) -> Iterator[Any]:
    stack.configure(IMGPIPE_INPUT_BUCKET=stack.topology.input_bucket)
    s3_client.cache_clear()
    yield create_app(load_api_settings()).resolve
    s3_client.cache_clear()


def _upload(stack: Stack, api: Any, sub: str, seed: int = 1) -> str:
    body = images.photo_jpeg(64, 48, seed=seed)
    request = {"filename": "photo.jpg", "contentType": "image/jpeg", "size": len(body)}
    signed = call(api, http_event("POST", "/v1/uploads", request, sub=sub)).json()
    stack.s3.put_object(Bucket=stack.topology.input_bucket, Key=signed["key"], Body=body)
    return str(signed["imageId"])


def _delete(api: Any, image_id: str, sub: str = "alice") -> Answer:
    return call(api, http_event("DELETE", f"/v1/images/{image_id}", sub=sub))


def _status(api: Any, image_id: str, sub: str = "alice") -> str:
    return str(call(api, http_event("GET", f"/v1/images/{image_id}", sub=sub)).json()["status"])


def _everything_of(stack: Stack, user_id: str, image_id: str) -> list[str]:
    uploads = stack.s3.list_objects_v2(
        Bucket=stack.topology.input_bucket, Prefix=f"uploads/{user_id}/{image_id}."
    )
    return [o["Key"] for o in uploads.get("Contents", [])] + stack.output_keys(
        f"processed/{user_id}/{image_id}/"
    )


def test_deleting_a_complete_image_removes_it_and_says_deleted(stack: Stack, api: Any) -> None:
    # Given alice's processed image
    image_id = _upload(stack, api, "alice")
    (message,) = stack.drain(1)
    assert stack.process([message]) == {"batchItemFailures": []}
    assert _status(api, image_id) == "complete" and _everything_of(stack, "alice", image_id)
    # When she deletes it
    answer = _delete(api, image_id)
    # Then it is 204, its upload and renders are gone, and it reads as deleted, not listed
    assert (answer.status, answer.text) == (204, "")
    assert _everything_of(stack, "alice", image_id) == []
    assert _status(api, image_id) == "deleted"
    assert call(api, http_event("GET", "/v1/images")).json()["images"] == []
    # and deleting it again is 204 too
    assert _delete(api, image_id).status == 204


def test_a_late_event_does_not_bring_a_deleted_image_back(stack: Stack, api: Any) -> None:
    # Given a pending image deleted before its event was processed
    image_id = _upload(stack, api, "alice")
    (message,) = stack.drain(1)
    assert _delete(api, image_id).status == 204
    # When the event arrives after all
    assert stack.process([message]) == {"batchItemFailures": []}
    # Then the image stays deleted, with nothing rendered
    assert _status(api, image_id) == "deleted"
    assert _everything_of(stack, "alice", image_id) == []


def test_another_users_image_cannot_be_deleted_and_is_left_whole(stack: Stack, api: Any) -> None:
    image_id = _upload(stack, api, "bob")
    (message,) = stack.drain(1)
    assert stack.process([message]) == {"batchItemFailures": []}
    before = _everything_of(stack, "bob", image_id)
    answer = _delete(api, image_id, sub="alice")
    assert (answer.status, answer.problem_type) == (404, "not-found")
    assert (
        _everything_of(stack, "bob", image_id) == before and _status(api, image_id, sub="bob") == "complete"
    )


@pytest.mark.parametrize("image_id", ["0000000000000-0000000000000000", "no.such", "x" * 129])
def test_deleting_an_image_that_does_not_exist_is_not_found(api: Any, image_id: str) -> None:
    answer = _delete(api, image_id)
    assert (answer.status, answer.problem_type) == (404, "not-found")


def test_deleting_without_a_sub_is_401(api: Any) -> None:
    answer = call(api, http_event("DELETE", "/v1/images/abc", sub=None))
    assert (answer.status, answer.problem_type) == (401, "unauthenticated")
