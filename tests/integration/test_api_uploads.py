"""A signed-in user's upload through the client API, against the moto server: the form it gets
is POSTed to S3 as a browser would, lands exactly where and as the policy pins it, and is what
the worker turns into variants the API then hands back.

The moto server (5.x) accepts any POST form: it checks neither the signature nor a single
condition of the policy, and does not record a POST's SSE fields on the object. Where that
matters, the tests check the form against its signed policy as S3 documents it
(`tests.api_support.post_policy_violations`, and the SigV4 signature of the policy itself), and
say so.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.api_support import call, decoded_policy, http_event, post_policy_violations, signature_matches
from tests.fixtures import images
from tests.integration.conftest import Stack
from worker.api.app import create_app
from worker.api.aws import s3_client
from worker.api.settings import load_api_settings
from worker.storage import original_filename

pytestmark = pytest.mark.integration

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444"
MAX_BYTES = 2_000_000
NAME = "Sommer 2026 – Strand & Meer.jpg"


@pytest.fixture
def api(stack: Stack) -> Iterator[Any]:
    stack.configure(
        IMGPIPE_INPUT_BUCKET=stack.topology.input_bucket,
        IMGPIPE_KMS_KEY_ID=KMS_KEY,
        IMGPIPE_MAX_BYTES=str(MAX_BYTES),
    )
    s3_client.cache_clear()
    yield create_app(load_api_settings()).resolve
    s3_client.cache_clear()


def _sign(
    api: Any, body: bytes, name: str = NAME, sub: str = "alice", content_type: str = "image/jpeg"
) -> Any:
    request = {"filename": name, "contentType": content_type, "size": len(body)}
    answer = call(api, http_event("POST", "/v1/uploads", request, sub=sub))
    assert answer.status == 201, answer.text
    return answer.json()


def _post(form: dict[str, Any], body: bytes, fields: dict[str, str] | None = None) -> requests.Response:
    # As a browser's FormData: the policy's fields first, the file last.
    data = fields if fields is not None else form["fields"]
    return requests.post(form["url"], data=data, files={"file": ("upload", body)}, timeout=10)


def test_a_signed_form_puts_the_file_where_and_as_the_policy_pins_it(stack: Stack, api: Any) -> None:
    # Given alice's signed form for a photo
    body = images.photo_jpeg(320, 240)
    signed = _sign(api, body)
    # When her browser POSTs the file with it
    response = _post(signed["upload"], body)
    # Then S3 took it at exactly the key, type and metadata the API chose
    assert response.status_code in (200, 201, 204), response.text
    head = stack.s3.head_object(Bucket=stack.topology.input_bucket, Key=signed["key"])
    assert signed["key"] == f"uploads/alice/{signed['imageId']}.jpg"
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == len(body)
    assert original_filename(head["Metadata"]) == NAME  # the worker's own reading of it
    # and the form asks for SSE-KMS with the deployment's key, signed into the policy (moto does
    # not record a POST's encryption, so the form and its policy are what can be checked here)
    fields = signed["upload"]["fields"]
    assert fields["x-amz-server-side-encryption"] == "aws:kms"
    assert fields["x-amz-server-side-encryption-aws-kms-key-id"] == KMS_KEY
    conditions = decoded_policy(fields)["conditions"]
    assert {"x-amz-server-side-encryption": "aws:kms"} in conditions
    assert {"x-amz-server-side-encryption-aws-kms-key-id": KMS_KEY} in conditions
    assert post_policy_violations(fields, len(body), stack.topology.input_bucket) == []


def _set(field: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda fields: fields | {field: value}


def _key(old: str, new: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda fields: fields | {"key": fields["key"].replace(old, new)}


# What a client might change in its form, each applied to an untouched signed form.
CHANGES: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "another user's prefix": _key("uploads/alice/", "uploads/bob/"),
    "another key of her own": _key(".jpg", "-2.jpg"),
    "a key outside uploads/": _key("uploads/alice/", "processed/alice/"),
    "another content type": _set("Content-Type", "text/html"),
    "no encryption": lambda fields: {k: v for k, v in fields.items() if k != "x-amz-server-side-encryption"},
    "SSE-S3 instead of KMS": _set("x-amz-server-side-encryption", "AES256"),
    "another KMS key": _set("x-amz-server-side-encryption-aws-kms-key-id", KMS_KEY.replace("4444", "9999")),
    "another original filename": _set("x-amz-meta-original-filename", "evil.jpg"),
    "a public ACL": _set("acl", "public-read"),
    "metadata of its own": _set("x-amz-meta-userid", "bob"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_form_the_client_changed_is_refused_by_its_signed_policy(
    stack: Stack, api: Any, change: str
) -> None:
    # Given alice's signed form (moto would store any form: see the module docstring)
    body = images.photo_jpeg(64, 48)
    fields = _sign(api, body)["upload"]["fields"]
    # When she changes one field, then S3's policy check refuses the form
    tampered = CHANGES[change](fields)
    assert tampered != fields
    violations = post_policy_violations(tampered, len(body), stack.topology.input_bucket)
    assert violations != []


@pytest.mark.parametrize(
    ("size", "refused"), [(0, True), (1, False), (MAX_BYTES, False), (MAX_BYTES + 1, True)]
)
def test_the_policy_bounds_the_bytes_actually_sent(stack: Stack, api: Any, size: int, refused: bool) -> None:
    # Given a form signed for a small file, whatever size is sent: content-length-range decides
    fields = _sign(api, b"x" * 10)["upload"]["fields"]
    violations = post_policy_violations(fields, size, stack.topology.input_bucket)
    assert bool(violations) is refused
    assert all("content-length-range" in v for v in violations)


def test_the_policy_is_signed_so_rewriting_it_breaks_the_signature(api: Any) -> None:
    # Given a form signed with the moto server's credentials (AWS_SECRET_ACCESS_KEY=testing)
    fields = _sign(api, b"x" * 10)["upload"]["fields"]
    assert signature_matches(fields, "testing")
    # When a client widens the policy (any key, any size) and re-encodes it
    policy = decoded_policy(fields)
    policy["conditions"] = [c for c in policy["conditions"] if not (isinstance(c, dict) and "key" in c)]
    forged = fields | {"policy": base64.b64encode(json.dumps(policy).encode()).decode()}
    # Then the signature no longer matches, and S3 refuses it
    assert not signature_matches(forged, "testing")


def test_a_request_cannot_name_another_users_prefix(api: Any) -> None:
    for attempt in ({"userId": "bob"}, {"key": "uploads/bob/x.jpg"}, {"prefix": "uploads/bob/"}):
        body = {"filename": "x.jpg", "contentType": "image/jpeg", "size": 10} | attempt
        answer = call(api, http_event("POST", "/v1/uploads", body, sub="alice"))
        assert (answer.status, answer.problem_type) == (422, "invalid-request")
    traversal = _sign(api, b"x" * 10, name="../../bob/x.jpg")
    assert traversal["key"].startswith("uploads/alice/") and "bob" not in traversal["key"]


def test_an_upload_through_the_api_comes_back_as_variants_from_the_api(stack: Stack, api: Any) -> None:
    # Given alice uploaded a photo through her signed form, and the worker processed its event
    body = images.photo_jpeg(640, 480)
    signed = _sign(api, body)
    assert _post(signed["upload"], body).ok
    (message,) = stack.drain(1)
    assert stack.process([message]) == {"batchItemFailures": []}
    # When she asks the API for the image
    answer = call(api, http_event("GET", f"/v1/images/{signed['imageId']}", sub="alice"))
    # Then it is complete, named as she named it, and each variant URL serves the bytes listed
    assert answer.status == 200, answer.text
    view = answer.json()
    assert (view["status"], view["originalFilename"], view["imageId"]) == (
        "complete",
        NAME,
        signed["imageId"],
    )
    manifest = stack.manifest(signed["imageId"])
    assert manifest is not None
    listed = {v["name"]: v for v in manifest["variants"]}
    assert [v["name"] for v in view["variants"]] == list(listed)
    for variant in view["variants"]:
        got = requests.get(variant["url"], timeout=10)
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == listed[variant["name"]]["sha256"]
        assert {k: variant[k] for k in ("width", "height", "format", "bytes")} == {
            k: listed[variant["name"]][k] for k in ("width", "height", "format", "bytes")
        }
