"""The front door as a WSGI application: what API Gateway does with one request to the client API.

In API Gateway's order: a CORS preflight is answered at once; a request no route takes is a 404;
a route with the JWT authorizer gets a 401 `{"message":"Unauthorized"}` for any token it refuses,
and the function is never called; otherwise the function gets the v2.0 event and a Lambda-like
context, and its answer becomes the response, with the gateway's CORS headers instead of its own.
A function that raises, or answers what the gateway cannot read, is a 500 `Internal Server Error`.

The function runs in execution environments (`environments.py`), one invocation at a time in
each: Powertools' resolver keeps the current event on the app object, so two requests at once in
one interpreter could see each other's caller. Tokens are checked here, before an environment is
taken, so a burst of bad tokens costs no function time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from deploy.local.front_door.authorizer import JwtAuthorizer, KeysUnavailable, Unauthorized
from deploy.local.front_door.cors import Cors, is_cors_header, is_preflight
from deploy.local.front_door.environments import Environments, InProcess, Invoker
from deploy.local.front_door.event import build_event, http_response, raw_target, request_id
from deploy.local.front_door.routes import ROUTES, Route, find_route

log = logging.getLogger("imgpipe.front_door")
access = logging.getLogger("imgpipe.front_door.access")

FUNCTION_TIMEOUT_S = 29.0  # API Gateway gives an integration at most 30 s
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit


def message(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """A response with API Gateway's own body: `{"message":"..."}`."""
    body = json.dumps({"message": text}, separators=(",", ":"))
    return Response(body, status, {"content-type": "application/json", **(headers or {})})


def unauthorized(reason: str) -> Response:
    """API Gateway's 401, with its `www-authenticate` header saying which check failed."""
    description = reason.replace('"', "'")
    challenge = f'Bearer scope="" error="invalid_token" error_description="{description}"'
    return message(401, "Unauthorized", {"www-authenticate": challenge})


@dataclass
class FrontDoor:
    """The WSGI app: one API, one authorizer, one function (named by its dotted path) run in
    `environments` worker processes (0: one environment in this process, for tests that watch it)."""

    handler_path: str
    authorizer: JwtAuthorizer
    cors: Cors = field(default_factory=Cors)
    routes: tuple[Route, ...] = ROUTES
    timeout_s: float = FUNCTION_TIMEOUT_S
    environments: int = 0
    _invoker: Invoker = field(init=False)

    def __post_init__(self) -> None:
        if self.environments:
            self._invoker = Environments(self.handler_path, self.environments)
        else:
            self._invoker = InProcess(self.handler_path)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Serve one request (the WSGI entry point)."""
        environ["imgpipe.request_id"] = identifier = request_id()
        request = Request(environ)
        request.max_content_length = MAX_PAYLOAD_BYTES
        response = self.respond(request)
        response.headers["apigw-requestid"] = identifier
        # one line a request, like API Gateway's access log: id, caller, request, status
        access.info("%s %s %s %s %d", identifier, request.remote_addr, request.method, request.path,
                    response.status_code)  # fmt: skip
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        """The response API Gateway would give, CORS headers included."""
        origin = request.headers.get("origin")
        lowered = {name.lower(): value for name, value in request.headers.items()}
        if is_preflight(request.method, lowered):
            preflight = Response(None, 204, self.cors.preflight_headers(origin))
            del preflight.headers["content-type"]
            return preflight
        response = self._route(request)
        for name in {name for name, _ in response.headers.items() if is_cors_header(name)}:
            del response.headers[name]
        response.headers.extend(self.cors.response_headers(origin))
        return response

    def warm(self) -> None:
        """Import the function now, as Lambda's init phase does; a failure is logged, not raised."""
        self._invoker.warm()

    def close(self) -> None:
        """Stop the environments."""
        self._invoker.close()

    def _route(self, request: Request) -> Response:
        raw_path, _ = raw_target(request)
        found = find_route(request.method, raw_path, self.routes)
        if found is None:
            return message(404, "Not Found")
        route, parameters = found
        claims = None
        if route.authorized:
            try:
                claims = self.authorizer.authorize(request.headers.get("authorization"))
            except Unauthorized as exc:
                log.info("401 %s %s: %s", request.method, raw_path, exc)
                return unauthorized(str(exc))
            except KeysUnavailable as exc:
                log.error("%s", exc)
                return message(503, "Service Unavailable")
        try:
            body = request.get_data()
        except RequestEntityTooLarge:
            return message(413, "Request Entity Too Large")
        return self._invoke(build_event(request, route, parameters, claims, body))

    def _invoke(self, event: dict[str, Any]) -> Response:
        try:
            return http_response(self._invoker.invoke(event, self.timeout_s))
        except Exception:  # the function failed, or answered what the gateway cannot read
            log.exception("the API handler failed on %s", event["routeKey"])
            return message(500, "Internal Server Error")
