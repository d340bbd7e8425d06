"""What the client API's tests share: API Gateway's v2 events, and S3's POST-policy rules.

`http_event` builds the event an HTTP API (payload format 2.0) hands the function after its JWT
authorizer accepted a token: the token's claims as strings under
`requestContext.authorizer.jwt.claims`, lower-case header names, duplicate query parameters
joined by commas. `post_policy_violations` checks a filled-in POST form against its signed
policy the way S3 documents it, for what the moto server does not check (it accepts any form).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

# Claims of a Cognito access token, as API Gateway passes them on (every value a string).
COGNITO_CLAIMS = {
    "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
    "client_id": "example-client",
    "token_use": "access",
    "scope": "aws.cognito.signin.user.admin",
    "auth_time": "1765000000",
    "exp": "1765003600",
    "iat": "1765000000",
}


def http_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    sub: str | None = "alice",
    claims: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API v2 event; `body` is JSON-encoded unless already a str; `sub=None`
    leaves the claim out (`claims` replaces them all)."""
    all_claims = dict(COGNITO_CLAIMS if claims is None else claims)
    if sub is not None and claims is None:
        all_claims |= {"sub": sub, "username": sub}
    lowered = {"content-type": "application/json", "host": "api.example.com"} | {
        name.lower(): value for name, value in (headers or {}).items()
    }
    now = int(time.time() * 1000)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1",
            "authorizer": {"jwt": {"claims": all_claims, "scopes": None}},
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "tests",
            },  # fmt: skip
            "requestId": f"req-{now}",
            "routeKey": "$default",
            "stage": "$default",
            "time": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": now,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


class Answer:
    """A handler's response, decoded."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        self.status: int = response["statusCode"]
        self.headers: dict[str, str] = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        self.text: str = response.get("body") or ""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.text)

    @property
    def problem_type(self) -> str:
        """The problem's `type` slug (after .../problems/), checking the media type on the way."""
        assert self.headers["content-type"] == "application/problem+json", self.headers
        body = self.json()
        assert body["status"] == self.status and body["title"] and body["detail"], body
        return str(body["type"]).rsplit("/", 1)[-1]


# A resolver's `resolve`, or a Lambda entry point: (event, context) -> the API Gateway answer.
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def call(handler: Handler, event: dict[str, Any]) -> Answer:
    """Invoke a resolver's `resolve` (or the Lambda entry point) with `event`."""
    return Answer(handler(event, None))


def decoded_policy(fields: Mapping[str, str]) -> dict[str, Any]:
    """The POST policy a signed form carries, decoded."""
    return dict(json.loads(base64.b64decode(fields["policy"])))


def signature_matches(fields: Mapping[str, str], secret_key: str) -> bool:
    """True when `x-amz-signature` is the SigV4 signature of the form's policy under `secret_key`."""
    _, date, region, service, _ = fields["x-amz-credential"].split("/")
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["x-amz-signature"])


_UNCHECKED = {"policy", "x-amz-signature", "file"}


def post_policy_violations(form: Mapping[str, str], size: int, bucket: str) -> list[str]:
    """Why S3 would refuse this POST form with a file of `size` bytes into `bucket` ([] if none).

    S3's rules: the policy has not expired; every condition holds (exact match, `eq`,
    `starts-with`, `content-length-range`); every form field except the policy, the signature,
    the file and `x-ignore-*` is named by a condition. Field names are case-insensitive.
    """
    policy = decoded_policy(form)
    values = {name.lower(): value for name, value in form.items()} | {"bucket": bucket}
    problems = []
    if datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) <= datetime.now(UTC):
        problems.append("expired")
    covered = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            condition = ["eq", f"${name}", expected]
        operator, target, *rest = condition
        if operator == "content-length-range":
            if not target <= size <= rest[0]:
                problems.append(f"content-length-range: {size} not in {target}..{rest[0]}")
            continue
        name = target.lstrip("$").lower()
        covered.add(name)
        actual = values.get(name)
        ok = actual == rest[0] if operator == "eq" else actual is not None and actual.startswith(rest[0])
        if not ok:
            problems.append(f"{name}: {actual!r} does not satisfy {operator} {rest[0]!r}")
    extra = {
        k for k in values if k not in covered | _UNCHECKED | {"bucket"} and not k.startswith("x-ignore-")
    }
    problems.extend(f"{name}: not allowed by the policy" for name in sorted(extra))
    return problems
