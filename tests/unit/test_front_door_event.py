"""The front door's half of the API Gateway contract, without a socket: the v2.0 event a request
becomes (read back through Powertools' own event class), and the HTTP response a function's answer
becomes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from deploy.local.front_door.event import build_event, http_response, string_claims
from deploy.local.front_door.routes import Route

pytestmark = pytest.mark.unit

ROUTE = Route("GET", "/v1/images/{imageId}")
CLAIMS = {"sub": "0b6c-user", "exp": 1796611923, "email_verified": True, "cognito:groups": ["a", "b"]}


def request(path: str = "/v1/images/img%5F1", query: str = "", **options: Any) -> Request:
    environ = EnvironBuilder(path=path, query_string=query, **options).get_environ()
    environ["imgpipe.request_id"] = "Mc7UVioPPHcEKPA="
    # what werkzeug's server records: the target as the client sent it
    environ["RAW_URI"] = f"{path}?{query}" if query else path
    return Request(environ)


def event(req: Request, body: bytes = b"", claims: dict[str, Any] | None = CLAIMS) -> dict[str, Any]:
    return build_event(req, ROUTE, {"imageId": "img_1"}, claims, body)


def test_a_request_becomes_the_event_api_gateway_sends() -> None:
    # Given a GET with a repeated query parameter, a cookie and mixed-case headers
    req = request(query="limit=5&tag=a&tag=b", headers={"X-Trace": "t1", "Cookie": "a=1; b=2"})
    # When the door builds the event
    raw = event(req)
    got = APIGatewayProxyEventV2(raw)
    # Then Powertools reads it as API Gateway's: route, raw path and query, joined repeats
    assert (got.version, got.route_key, got.raw_path) == (
        "2.0",
        "GET /v1/images/{imageId}",
        "/v1/images/img%5F1",
    )
    assert got.raw_query_string == "limit=5&tag=a&tag=b"
    assert got.query_string_parameters == {"limit": "5", "tag": "a,b"}
    assert got.path_parameters == {"imageId": "img_1"}
    assert got.cookies == ["a=1", "b=2"]
    assert got.http_method == "GET" and got.path == "/v1/images/img%5F1"
    # and header names lowercased, the Cookie header moved to `cookies`
    assert raw["headers"]["x-trace"] == "t1" and "cookie" not in raw["headers"]
    context = got.request_context
    assert (context.stage, context.route_key, context.request_id) == (
        "$default",
        ROUTE.key,
        "Mc7UVioPPHcEKPA=",
    )
    assert context.http.method == "GET" and context.http.source_ip
    assert isinstance(raw["requestContext"]["timeEpoch"], int)
    # and no body when none was sent
    assert "body" not in raw and raw["isBase64Encoded"] is False


def test_claims_reach_the_function_as_strings_as_api_gateway_passes_them() -> None:
    claims = APIGatewayProxyEventV2(event(request())).request_context.authorizer.jwt_claim
    assert claims == {
        "sub": "0b6c-user",
        "exp": "1796611923",
        "email_verified": "true",
        "cognito:groups": "[a b]",
    }
    assert string_claims({"nested": {"k": 1}}) == {"nested": '{"k":1}'}


def test_a_route_without_authorizer_has_no_authorizer_context() -> None:
    assert "authorizer" not in event(request(), claims=None)["requestContext"]


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [("application/json", b'{"a": 1}', False), ("text/plain; charset=utf-8", "é".encode(), False),
     ("application/problem+json", b"{}", False), ("image/jpeg", b"\xff\xd8\xff", True),
     ("application/json", b"\xff\xfe", True)],
    ids=["json", "text", "suffix-json", "binary", "json-not-utf8"],
)  # fmt: skip
def test_a_body_that_is_not_text_is_base64_encoded(content_type: str, body: bytes, encoded: bool) -> None:
    raw = event(request(method="POST", content_type=content_type), body=body)
    assert raw["isBase64Encoded"] is encoded
    sent = base64.b64decode(raw["body"]) if encoded else raw["body"].encode()
    assert sent == body


def test_a_v2_response_becomes_the_http_response() -> None:
    # Given an answer with headers, two cookies and a base64 body
    answer = {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png", "X-Count": 3},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": base64.b64encode(b"\x89PNG").decode(),
        "isBase64Encoded": True,
    }
    # When the door turns it into a response
    response = http_response(answer)
    # Then status, headers and bytes are the function's, and each cookie is a Set-Cookie
    assert response.status_code == 201
    assert response.get_data() == b"\x89PNG"
    assert response.headers["content-type"] == "image/png" and response.headers["x-count"] == "3"
    assert response.headers.getlist("set-cookie") == ["a=1; Path=/", "b=2"]


@pytest.mark.parametrize("answer", ["Hello", {"message": "hi"}, [1, 2]], ids=["string", "object", "list"])
def test_an_answer_without_status_code_is_a_200_with_that_json(answer: Any) -> None:
    response = http_response(answer)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert json.loads(response.get_data()) == answer


@pytest.mark.parametrize(
    "answer", [{"statusCode": 99}, {"statusCode": 200, "body": {"not": "a string"}}, {"statusCode": "abc"}]
)
def test_an_answer_the_gateway_cannot_read_is_refused(answer: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        http_response(answer)
