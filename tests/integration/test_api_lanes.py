"""The client API marks what its batch call signs for the bulk lane, where the client cannot undo it.

The mark is a field of the signed POST policy (`x-amz-meta-imgpipe-lane: bulk`); S3 stores it as
the upload's metadata, which the router reads back. moto stores any POST form without checking
its policy (see test_api_uploads), so the refusals are checked against the signed policy as S3
documents it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shared.lanes import BULK, LANE_METADATA, marked_lane
from tests.api_support import call, decoded_policy, http_event, post_policy_violations
from tests.fixtures import images
from tests.integration.conftest import Stack
from worker.api.app import create_app
from worker.api.aws import s3_client
from worker.api.settings import load_api_settings

pytestmark = pytest.mark.integration

FIELD = f"x-amz-meta-{LANE_METADATA}"


@pytest.fixture
def api(stack: Stack) -> Iterator[Any]:
    stack.configure(IMGPIPE_INPUT_BUCKET=stack.topology.input_bucket)
    s3_client.cache_clear()
    yield create_app(load_api_settings()).resolve
    s3_client.cache_clear()


def _batch_form(api: Any, body: bytes) -> dict[str, Any]:
    files = [{"filename": "roll.jpg", "contentType": "image/jpeg", "size": len(body)}]
    answer = call(api, http_event("POST", "/v1/uploads/batch", {"files": files}, sub="alice"))
    assert answer.status == 201, answer.text
    return dict(answer.json()["items"][0]["upload"])


def _single_form(api: Any, body: bytes) -> dict[str, Any]:
    request = {"filename": "me.jpg", "contentType": "image/jpeg", "size": len(body)}
    answer = call(api, http_event("POST", "/v1/uploads", request, sub="alice"))
    assert answer.status == 201, answer.text
    return dict(answer.json())


def test_an_upload_signed_by_the_batch_call_lands_marked_bulk(stack: Stack, api: Any) -> None:
    # Given a form from the batch call, POSTed as a browser would
    body = images.photo_jpeg(64, 48)
    signed = _batch_form(api, body)
    fields = signed["upload"]["fields"]
    response = requests.post(signed["upload"]["url"], data=fields, files={"file": ("f", body)}, timeout=10)
    assert response.status_code in (200, 201, 204), response.text
    # Then the policy pins the mark, and the upload carries it where the router reads it
    assert {FIELD: BULK} in decoded_policy(fields)["conditions"]
    head = stack.s3.head_object(Bucket=stack.topology.input_bucket, Key=signed["key"])
    assert marked_lane(head["Metadata"]) == BULK


def test_a_single_upload_carries_no_mark(api: Any) -> None:
    fields = _single_form(api, b"x" * 10)["upload"]["fields"]
    assert FIELD not in fields
    assert not any(isinstance(c, dict) and FIELD in c for c in decoded_policy(fields)["conditions"])


def test_the_client_can_neither_drop_nor_change_the_batch_calls_mark(stack: Stack, api: Any) -> None:
    fields = _batch_form(api, b"x" * 10)["upload"]["fields"]
    bucket = stack.topology.input_bucket
    dropped = {name: value for name, value in fields.items() if name != FIELD}
    assert post_policy_violations(dropped, 10, bucket) != []
    assert post_policy_violations(fields | {FIELD: "interactive"}, 10, bucket) != []
    assert post_policy_violations(fields, 10, bucket) == []


def test_a_single_uploads_client_cannot_add_a_mark(stack: Stack, api: Any) -> None:
    fields = _single_form(api, b"x" * 10)["upload"]["fields"]
    assert post_policy_violations(fields | {FIELD: "interactive"}, 10, stack.topology.input_bucket) != []
