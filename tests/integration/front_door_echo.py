"""A stand-in for `worker.api.handler` behind the front door: a Powertools `APIGatewayHttpResolver`
with the client API's routes, each answering with what it received (route, path and query
parameters, body, cookies, the authorizer's claims), and a record of every call.

Being Powertools' own resolver is the point: an event it cannot route or read fails here as it
would fail the real handler. `?fail=1` makes it raise; `?cors=1` makes it answer with CORS headers
of its own, which the gateway must drop.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

app = APIGatewayHttpResolver()
CALLS: list[dict[str, Any]] = []  # every event this process's handler was called with
# the function's configuration it reports back: what the stack gives the API function
ENVIRONMENT = ("IMGPIPE_INPUT_BUCKET", "IMGPIPE_OUTPUT_BUCKET", "IMGPIPE_MAX_BYTES", "IMGPIPE_CORS_ORIGINS",
               "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID")  # fmt: skip


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: remember the call, then let Powertools route it."""
    CALLS.append({"event": event, "function_name": context.function_name,
                  "remaining_ms": context.get_remaining_time_in_millis()})  # fmt: skip
    return app.resolve(event, context)


def _echo(**path_parameters: str) -> Response[str]:
    event = app.current_event
    if event.get_query_string_value("fail"):
        raise RuntimeError("failing on purpose")
    authorizer = event.request_context.authorizer
    claims = authorizer.jwt_claim if authorizer is not None and authorizer.raw_event else None
    document = {
        "routeKey": event.route_key,
        "rawPath": event.raw_path,
        "rawQueryString": event.raw_query_string,
        "pathParameters": path_parameters,
        "query": event.query_string_parameters,
        "body": event.decoded_body,
        "cookies": event.cookies,
        "claims": claims,
        "requestId": event.request_context.request_id,
        "environment": {name: os.environ.get(name) for name in ENVIRONMENT},
    }
    headers = {"x-echo": "1"}
    if event.get_query_string_value("cors"):
        headers["access-control-allow-origin"] = "https://handler.example"
    return Response(200, "application/json", json.dumps(document), headers=headers)


for method, path in [("POST", "/v1/uploads"), ("POST", "/v1/uploads/batch"), ("GET", "/v1/images"),
                     ("GET", "/v1/images/<imageId>"), ("DELETE", "/v1/images/<imageId>"),
                     ("GET", "/v1/openapi.json")]:  # fmt: skip
    app.route(path, method)(_echo)
