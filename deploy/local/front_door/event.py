"""The API Gateway HTTP API payload (format 2.0) a request becomes, and the HTTP response a function's
answer becomes: the contract between the gateway and `worker.api.handler`.

Built as API Gateway builds it: header names lowercased with repeats joined by commas, the
Cookie header moved to `cookies`, repeated query parameters joined by commas, a body that is not
text base64-encoded, and the JWT authorizer's claims with every value a string (numbers as their
digits, lists as `[a b]`). The answer is read as API Gateway reads one: `statusCode`, `headers`,
`cookies` (one Set-Cookie each), `body`, `isBase64Encoded`; anything else that is JSON is a 200
with that JSON as its body.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from deploy.local.front_door.routes import Route

ACCOUNT_ID = "123456789012"  # moto's default account
API_ID = "local"
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded")  # fmt: skip


def build_event(
    request: Request, route: Route, parameters: dict[str, str], claims: dict[str, Any] | None, body: bytes
) -> dict[str, Any]:
    """The v2.0 event for `request` on `route`; `claims` are the authorizer's (None: no authorizer)."""
    headers = _headers(request)
    raw_path, raw_query = raw_target(request)
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": _context(request, route, headers, raw_path, claims, now),
        "isBase64Encoded": False,
    }
    if "cookie" in headers:
        cookies = headers.pop("cookie").replace(",", ";").split(";")
        event["cookies"] = [c.strip() for c in cookies if c.strip()]
    if raw_query:
        event["queryStringParameters"] = _joined(parse_qsl(raw_query, keep_blank_values=True))
    if parameters:
        event["pathParameters"] = parameters
    if body:
        text = _as_text(body, headers.get("content-type", ""))
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    return event


def request_id() -> str:
    """An id shaped like API Gateway's `apigw-requestid` (e.g. `Mc7UVioPPHcEKPA=`)."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _context(
    request: Request, route: Route, headers: dict[str, str], raw_path: str,
    claims: dict[str, Any] | None, now: float,
) -> dict[str, Any]:  # fmt: skip
    domain = headers.get("host", "localhost")
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.environ["imgpipe.request_id"],
        "routeKey": route.key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": string_claims(claims), "scopes": None}}
    return context


def string_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway passes them on: every value a string."""
    return {name: _claim_text(value) for name, value in claims.items()}


def _claim_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.remote_addr or "127.0.0.1")
    headers.setdefault("x-forwarded-proto", request.scheme)
    headers.setdefault("x-forwarded-port", str(request.environ.get("SERVER_PORT", "")))
    return headers


def raw_target(request: Request) -> tuple[str, str]:
    """The path and query as the client sent them (still percent-encoded)."""
    target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    path, _, query = str(target).partition("?")
    return path or "/", query


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _as_text(body: bytes, content_type: str) -> str | None:
    kind = content_type.split(";")[0].strip().lower()
    if not (kind.startswith(TEXT_TYPES) or kind.endswith(("+json", "+xml"))):
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


def http_response(result: Any) -> Response:
    """The HTTP response for a function's answer; `ValueError` when API Gateway could not read it."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # format 2.0 infers: any other JSON is the body of a 200
        return Response(json.dumps(result), 200, {"content-type": "application/json"})
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status} is not an HTTP status")
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise ValueError("body is not a string")
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status)
    response.headers.remove("content-type")  # only what the function says
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.add("set-cookie", str(cookie))
    return response
