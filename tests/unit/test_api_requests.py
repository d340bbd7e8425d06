"""What a careless or hostile client sends gets a clear problem and no URL; a good request gets a
form that pins everything. Through the resolver, with API Gateway's v2 events; the S3 client
signs locally and fails the test if it ever sends a request."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import botocore.session
import pytest
from botocore.client import BaseClient
from botocore.config import Config

from tests.api_support import Handler, call, decoded_policy, http_event, signature_matches
from worker.api.app import create_app
from worker.api.settings import ApiSettings

pytestmark = pytest.mark.unit

SECRET = "unit-secret"
MAX_BYTES = 1000
GOOD = {"filename": "beach.jpg", "contentType": "image/jpeg", "size": 123}


def _no_network(**_: object) -> None:
    raise AssertionError("the unit tests' S3 client must not send a request")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> BaseClient:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    client = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", aws_access_key_id="AKIDUNIT", aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )  # fmt: skip
    client.meta.events.register("before-send.s3", _no_network)
    return client


def _settings(**overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "input_bucket": "in-bucket",
        "output_bucket": "out-bucket",
        "max_bytes": MAX_BYTES,
        "cors_origins": ("https://app.example.com",),
    }
    return ApiSettings(**(values | overrides))


@pytest.fixture
def api(s3: BaseClient) -> Handler:
    return create_app(_settings(), lambda: s3).resolve


# --------------------------------------------------------------------------- a good request


def test_a_signed_upload_pins_the_key_type_encryption_name_and_size(api: Handler) -> None:
    # Given alice asks to upload a JPEG
    started = time.time()
    answer = call(
        api, http_event("POST", "/v1/uploads", GOOD | {"filename": "Strand & Meer.jpg"}, sub="alice")
    )
    # Then she gets a form for her own prefix, an hour at most
    assert answer.status == 201 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"imageId", "key", "upload", "expiresAt"}
    assert body["key"] == f"uploads/alice/{body['imageId']}.jpg"
    fields = body["upload"]["fields"]
    assert body["upload"]["url"] == "https://in-bucket.s3.amazonaws.com/"
    assert {
        k: v
        for k, v in fields.items()
        if not k.startswith(
            ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "policy")
        )
    } == {  # fmt: skip
        "key": body["key"],
        "Content-Type": "image/jpeg",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-meta-original-filename": "Strand%20%26%20Meer.jpg",
    }
    policy = decoded_policy(fields)
    for name, value in fields.items():
        if name not in {"policy", "x-amz-signature"}:
            assert {name: value} in policy["conditions"]
    assert ["content-length-range", 1, MAX_BYTES] in policy["conditions"]
    assert {"bucket": "in-bucket"} in policy["conditions"]
    assert signature_matches(fields, SECRET) and fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert started + 900 - 2 <= expires <= time.time() + 900
    policy_expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")).timestamp()
    assert policy_expires <= time.time() + 900 + 1


def test_the_deployments_kms_key_is_pinned_when_configured(s3: BaseClient) -> None:
    api = create_app(_settings(kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k1"), lambda: s3).resolve
    fields = call(api, http_event("POST", "/v1/uploads", GOOD)).json()["upload"]["fields"]
    assert (
        fields["x-amz-server-side-encryption-aws-kms-key-id"] == "arn:aws:kms:us-east-1:123456789012:key/k1"
    )
    conditions = decoded_policy(fields)["conditions"]
    assert {
        "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:123456789012:key/k1"
    } in conditions


def test_the_upload_url_lives_as_long_as_configured(s3: BaseClient) -> None:
    api = create_app(_settings(upload_url_ttl_s=60), lambda: s3).resolve
    body = call(api, http_event("POST", "/v1/uploads", GOOD)).json()
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert expires <= time.time() + 60


def test_the_token_decides_the_prefix_whatever_the_filename_says(api: Handler) -> None:
    body = call(
        api, http_event("POST", "/v1/uploads", GOOD | {"filename": "../bob/x.jpg"}, sub="alice")
    ).json()
    assert body["key"].startswith("uploads/alice/") and body["key"].count("/") == 2
    bob = call(api, http_event("POST", "/v1/uploads", GOOD, sub="bob")).json()
    assert bob["key"].startswith("uploads/bob/")


def test_each_upload_gets_a_new_id(api: Handler) -> None:
    ids = {call(api, http_event("POST", "/v1/uploads", GOOD)).json()["imageId"] for _ in range(20)}
    assert len(ids) == 20


# --------------------------------------------------------------------------- refused before any URL


@pytest.mark.parametrize(
    ("body", "status", "problem", "detail"),
    [
        ("{not json", 400, "malformed-json", "the body is not a JSON object: Expecting property name"),
        ("[]", 400, "malformed-json", "the body is not a JSON object: expected an object, got an array"),
        ('"a.jpg"', 400, "malformed-json", "expected an object, got a string"),
        ("null", 400, "malformed-json", "expected an object, got null"),
        ("12", 400, "malformed-json", "expected an object, got a scalar"),
        (GOOD | {"userId": "bob"}, 422, "invalid-request", "userId: unknown field"),
        (GOOD | {"content_type": "image/jpeg"}, 422, "invalid-request", "content_type: unknown field"),
        ({"filename": "a.jpg", "size": 1}, 422, "invalid-request", "contentType: required"),
        (GOOD | {"size": "123"}, 422, "invalid-request", "size: Input should be a valid integer"),
        (GOOD | {"size": 1.5}, 422, "invalid-request", "size: Input should be a valid integer"),
        (GOOD | {"size": 0}, 422, "invalid-request", "size: Input should be greater than or equal to 1"),
        (GOOD | {"size": -5}, 422, "invalid-request", "size: Input should be greater than or equal to 1"),
        (GOOD | {"size": MAX_BYTES + 1}, 422, "too-large", f"over the limit of {MAX_BYTES}"),
        (
            GOOD | {"filename": ""},
            422,
            "invalid-request",
            "filename: String should have at least 1 character",
        ),
        (GOOD | {"filename": "beach"}, 422, "invalid-filename", "no usable extension"),
        (GOOD | {"filename": "dir/"}, 422, "invalid-filename", "names no file"),
        (
            GOOD | {"filename": "a.svg", "contentType": "image/svg+xml"},
            422,
            "unsupported-type",
            "image/svg+xml",
        ),
        (GOOD | {"filename": "a.png"}, 422, "unsupported-type", "which is named .jpeg, .jpg"),
        ([GOOD, GOOD | {"size": 10**9}], 400, "malformed-json", "got an array"),  # never its first item
        ("", 422, "invalid-request", "body: required"),
    ],
)
def test_a_bad_upload_request_gets_its_problem(
    api: Handler, body: Any, status: int, problem: str, detail: str
) -> None:
    answer = call(api, http_event("POST", "/v1/uploads", body))
    assert (answer.status, answer.problem_type) == (status, problem)
    assert detail in answer.json()["detail"]
    assert "url" not in answer.text


def test_a_body_that_is_not_json_by_its_content_type_is_refused(api: Handler) -> None:
    answer = call(
        api, http_event("POST", "/v1/uploads", "filename=a.jpg", headers={"content-type": "text/plain"})
    )
    assert (answer.status, answer.problem_type) == (415, "unsupported-media-type")


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://issuer.example"},  # no sub at all
        {"sub": ""},
        {"sub": "../bob"},  # cannot name a prefix
        {"sub": "alice/../bob"},
        {"sub": "watermarked"},  # the reserved user id
        {"sub": "x" * 129},
    ],
)
@pytest.mark.parametrize("body", [GOOD, "{not json", {"unknown": 1}])
def test_without_a_usable_sub_claim_the_answer_is_401_first(
    api: Handler, claims: dict[str, str], body: Any
) -> None:
    answer = call(api, http_event("POST", "/v1/uploads", body, claims=claims))
    assert (answer.status, answer.problem_type) == (401, "unauthenticated")
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [("GET", "/v1/images", None), ("GET", "/v1/images/abc", None), ("POST", "/v1/uploads/batch", None)],
)
def test_every_route_but_the_openapi_document_needs_a_sub(
    api: Handler, method: str, path: str, query: dict[str, str] | None
) -> None:
    body = {"files": [GOOD]} if method == "POST" else None
    answer = call(api, http_event(method, path, body, sub=None, query=query))
    assert (answer.status, answer.problem_type) == (401, "unauthenticated")


# --------------------------------------------------------------------------- batches


def test_a_batch_of_good_files_is_201_with_a_form_each(api: Handler) -> None:
    files = [GOOD | {"filename": f"photo-{i}.jpg"} for i in range(100)]
    answer = call(api, http_event("POST", "/v1/uploads/batch", {"files": files}))
    assert answer.status == 201
    body = answer.json()
    assert (body["created"], body["refused"]) == (100, 0)
    assert [item["index"] for item in body["items"]] == list(range(100))
    assert all(
        item["status"] == 201 and item["upload"]["key"].startswith("uploads/alice/") for item in body["items"]
    )
    assert len({item["upload"]["imageId"] for item in body["items"]}) == 100


def test_a_batch_with_refused_files_is_207_with_an_outcome_each(api: Handler) -> None:
    text = GOOD | {"filename": "notes.txt", "contentType": "text/plain"}
    files = [GOOD, text, GOOD | {"size": MAX_BYTES * 2}, GOOD | {"filename": "noext"}]
    answer = call(api, http_event("POST", "/v1/uploads/batch", {"files": files}))
    assert answer.status == 207
    items = answer.json()["items"]
    assert items[0]["status"] == 201 and "upload" in items[0]
    refused = [
        (item["index"], item["status"], item["problem"]["type"].rsplit("/", 1)[-1]) for item in items[1:]
    ]
    assert refused == [(1, 422, "unsupported-type"), (2, 422, "too-large"), (3, 422, "invalid-filename")]
    assert all(
        item["problem"]["status"] == item["status"] and item["problem"]["detail"] for item in items[1:]
    )


@pytest.mark.parametrize(
    ("files", "detail"),
    [
        ([GOOD] * 101, "files: at most 100 items, got 101"),
        ([], "files: at least 1 item, got 0"),
        ([GOOD, GOOD, GOOD, GOOD | {"size": "big"}], "files[3].size: Input should be a valid integer"),
        ([GOOD, GOOD | {"extra": True}], "files[1].extra: unknown field"),
    ],
)
def test_a_malformed_batch_is_refused_whole_naming_the_field(
    api: Handler, files: list[Any], detail: str
) -> None:
    answer = call(api, http_event("POST", "/v1/uploads/batch", {"files": files}))
    assert (answer.status, answer.problem_type) == (422, "invalid-request")
    assert answer.json()["detail"] == detail


# --------------------------------------------------------------------------- reading, without S3


@pytest.mark.parametrize("image_id", ["a.b", "x" * 129, "..", "a%2Fb"])
def test_an_id_that_cannot_exist_is_not_found_without_asking_s3(api: Handler, image_id: str) -> None:
    answer = call(api, http_event("GET", f"/v1/images/{image_id}"))
    assert (answer.status, answer.problem_type) == (404, "not-found")


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"limit": "0"}, "limit: Input should be greater than or equal to 1"),
        ({"limit": "101"}, "limit: Input should be less than or equal to 100"),
        ({"limit": "ten"}, "limit: Input should be a valid integer"),
        ({"cursor": "x" * 2049}, "cursor: String should have at most 2048 characters"),
    ],
)
def test_a_bad_page_request_is_refused_naming_the_parameter(
    api: Handler, query: dict[str, str], detail: str
) -> None:
    answer = call(api, http_event("GET", "/v1/images", query=query))
    assert (answer.status, answer.problem_type) == (422, "invalid-request")
    assert answer.json()["detail"].startswith(detail)


def test_a_forged_cursor_is_refused(api: Handler) -> None:
    answer = call(api, http_event("GET", "/v1/images", query={"cursor": "!!not-ours!!"}))
    assert (answer.status, answer.problem_type) == (400, "invalid-cursor")


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nothing"), ("PUT", "/v1/uploads"), ("GET", "/")])
def test_an_unknown_route_is_a_not_found_problem(api: Handler, method: str, path: str) -> None:
    answer = call(api, http_event(method, path))
    assert (answer.status, answer.problem_type) == (404, "not-found")


def test_an_unexpected_error_is_an_internal_problem_not_a_traceback() -> None:
    def broken() -> Any:
        raise RuntimeError("secret internals")

    api = create_app(_settings(), broken).resolve
    answer = call(api, http_event("GET", "/v1/images/abc"))
    assert (answer.status, answer.problem_type) == (500, "internal-error")
    assert "secret internals" not in answer.text


# --------------------------------------------------------------------------- CORS


def test_a_preflight_from_a_configured_origin_is_allowed(api: Handler) -> None:
    preflight = {"origin": "https://app.example.com", "access-control-request-method": "POST"}
    event = http_event("OPTIONS", "/v1/uploads", sub=None, headers=preflight)
    answer = call(api, event)
    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()


def test_answers_and_problems_carry_cors_for_a_configured_origin_only(api: Handler) -> None:
    allowed = {"origin": "https://app.example.com"}
    ok = call(api, http_event("POST", "/v1/uploads", GOOD, headers=allowed))
    problem = call(api, http_event("POST", "/v1/uploads", GOOD | {"size": 0}, headers=allowed))
    assert ok.headers["access-control-allow-origin"] == problem.headers["access-control-allow-origin"]
    other = call(api, http_event("POST", "/v1/uploads", GOOD, headers={"origin": "https://evil.example"}))
    assert "access-control-allow-origin" not in other.headers
