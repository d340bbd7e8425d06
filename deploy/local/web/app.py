"""The local web server as a WSGI application: the built page, its config.json, and local sign-in.

- `GET /config.json`: the page's configuration for this stack (`page.page_config`).
- `POST /local/users` `{"user": NAME}`: creates NAME in the stack's pool if new and answers
  `{username, password}` (the derived local password, `deploy.local.cognito`), as
  `imgpipe login --user NAME` would sign them in. JSON only, and no CORS: a page on another
  origin can neither send it without a preflight nor read the answer.
- `POST /local/cognito-idp`: Cognito's JSON API, InitiateAuth only, carried to the moto server.
- Anything else: a file of the build (`index.html` for `/`); a 503 page saying how to build it
  when there is none.

Every response carries the security headers CloudFront would add (`page.security_headers`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from deploy.local.cognito import UserPool, local_password, sign_in
from deploy.local.web.page import COGNITO_PATH, USERS_PATH

USER_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,128}")
INITIATE_AUTH = "AWSCognitoIdentityProviderService.InitiateAuth"
TIMEOUT_S = (3.05, 30.0)
NO_STORE = {"cache-control": "no-store"}  # passwords, tokens and per-stack settings
IMMUTABLE = "public, max-age=31536000, immutable"  # vite names assets by their content
NOT_BUILT = (
    "<!doctype html><html lang=en><title>imgpipe uploader: not built</title>"
    "<h1>The uploader is not built</h1><p>Run <code>make web</code> in the checkout, then reload.</p></html>"
)


def problem(status: int, title: str, detail: str) -> Response:
    """An RFC 9457 problem, as the client API answers."""
    kind = f"https://imgpipe.dev/problems/local-{status}"
    body = {"type": kind, "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body), status, content_type="application/problem+json")


class WebApp:
    """Serve `root` (the build) for the stack whose page config, headers and pool are given."""

    def __init__(
        self,
        root: Path,
        config: dict[str, Any],
        headers: dict[str, str],
        pool: UserPool,
        cognito: Callable[[], Any],
    ) -> None:
        self.root = root
        self.config = config
        self.headers = headers
        self.pool = pool
        self._make_cognito = cognito
        self._cognito: Any = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = exc.get_response(environ)
        response.headers.update(self.headers)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """The response to one request."""
        if request.path == "/config.json" and request.method in ("GET", "HEAD"):
            return Response(json.dumps(self.config), content_type="application/json", headers=NO_STORE)
        posts = {USERS_PATH: self.users, COGNITO_PATH: self.initiate_auth}
        if request.path in posts:
            if request.method != "POST":
                return problem(405, "Method not allowed", f"{request.path} takes POST only")
            return posts[request.path](request)
        if request.method not in ("GET", "HEAD"):
            return problem(405, "Method not allowed", f"{request.method} {request.path}")
        return self.static(request)

    def static(self, request: Request) -> Response:
        """A file of the build; `/` is index.html."""
        if not (self.root / "index.html").is_file():
            return Response(NOT_BUILT, 503, content_type="text/html; charset=utf-8")
        path = request.path.lstrip("/") or "index.html"
        try:
            response = send_from_directory(self.root, path, request.environ)
        except NotFound:
            return Response("not found", 404, content_type="text/plain")
        response.headers["cache-control"] = IMMUTABLE if path.startswith("assets/") else "no-cache"
        return response

    def users(self, request: Request) -> Response:
        """Create the user if new (as `imgpipe login` does) and hand back its local password."""
        if request.mimetype != "application/json":
            return problem(415, "Unsupported media type", 'send application/json: {"user": NAME}')
        body = request.get_json(silent=True)
        user = body.get("user") if isinstance(body, dict) else None
        if not isinstance(user, str) or not USER_NAME.fullmatch(user):
            return problem(400, "Invalid user name", "user: 1-128 letters, digits and . _ @ + -")
        try:
            sign_in(self.cognito(), self.pool, user)
        except Exception as exc:  # botocore's errors, or the server gone: say which, as a 502
            return problem(502, "The user pool did not answer", f"{type(exc).__name__}: {exc}")
        return Response(
            json.dumps({"username": user, "password": local_password(self.pool.pool_id, user)}),
            content_type="application/json",
            headers=NO_STORE,
        )

    def initiate_auth(self, request: Request) -> Response:
        """Carry an InitiateAuth call to the moto server as the browser sent it."""
        if request.headers.get("x-amz-target") != INITIATE_AUTH:
            return problem(403, "Not carried", f"only {INITIATE_AUTH} goes through this path")
        try:
            answer = requests.post(
                f"{self.pool.endpoint}/",
                data=request.get_data(),
                headers={"content-type": "application/x-amz-json-1.1", "x-amz-target": INITIATE_AUTH},
                timeout=TIMEOUT_S,
            )
        except requests.RequestException as exc:
            return problem(502, "The user pool did not answer", str(exc))
        kind = answer.headers.get("content-type", "application/x-amz-json-1.1")
        return Response(answer.content, answer.status_code, content_type=kind, headers=NO_STORE)

    def cognito(self) -> Any:
        """The cognito-idp client, made on first use (boto3 clients are thread-safe once made)."""
        with self._lock:
            if self._cognito is None:
                self._cognito = self._make_cognito()
            return self._cognito
