"""The OpenAPI document is generated from the code, served without a token, and valid."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from openapi_spec_validator import validate

from tests.api_support import call, http_event
from worker.api.app import create_app
from worker.api.settings import ApiSettings

pytestmark = pytest.mark.unit

ROUTES = {
    ("post", "/v1/uploads"): {"201", "400", "401", "415", "422"},
    ("post", "/v1/uploads/batch"): {"201", "207", "400", "401", "415", "422"},
    ("get", "/v1/images/{imageId}"): {"200", "401", "404", "503"},
    ("get", "/v1/images"): {"200", "400", "401", "422", "503"},
    ("delete", "/v1/images/{imageId}"): {"204", "401", "404", "503"},
}


def _media(status: str) -> set[str]:
    # A problem is problem+json, a success JSON, and a 204 nothing at all.
    if status == "204":
        return set()
    return {"application/problem+json"} if status >= "400" else {"application/json"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    s3 = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    api = create_app(ApiSettings(input_bucket="in-bucket", output_bucket="out-bucket"), lambda: s3).resolve
    # Served without a token: API Gateway has no authorizer on this route
    answer = call(api, http_event("GET", "/v1/openapi.json", sub=None, claims={}))
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    return dict(answer.json())


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1")


def test_every_route_is_documented_with_its_answers_and_the_bearer_token(document: dict[str, Any]) -> None:
    documented = {(method, path): set(op["responses"]) for path, ops in document["paths"].items()
                  for method, op in ops.items()}  # fmt: skip
    assert documented == ROUTES
    for path, ops in document["paths"].items():
        for operation in ops.values():
            assert operation["security"] == [{"bearerAuth": []}], path
            for status, answer in operation["responses"].items():
                assert set(answer.get("content", {})) == _media(status), (path, status)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_bodies_are_the_models_and_forbid_unknown_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    upload = schemas["UploadRequest"]
    assert upload["required"] == ["filename", "contentType", "size"]
    assert upload["additionalProperties"] is False and upload["properties"]["size"]["minimum"] == 1
    assert schemas["BatchUploadRequest"]["properties"]["files"]["maxItems"] == 100
    assert set(schemas["ImageView"]["properties"]["status"]["enum"]) == {
        "pending",
        "complete",
        "failed",
        "deleted",
    }
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    # Powertools' own 422 body is never answered, so it is not documented
    assert "HTTPValidationError" not in schemas


def test_a_complete_images_placeholder_is_documented(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    field = schemas["ImageView"]["properties"]["placeholder"]
    assert {"$ref": "#/components/schemas/PlaceholderView"} in field["anyOf"]
    assert "placeholder" not in schemas["ImageView"].get("required", [])  # absent before it existed
    placeholder = schemas["PlaceholderView"]
    assert set(placeholder["properties"]) == {"thumbhash", "color"}
    assert set(placeholder["required"]) == {"thumbhash", "color"}
