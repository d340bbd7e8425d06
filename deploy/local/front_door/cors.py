"""API Gateway's CORS configuration for the client API, reproduced: browsers on the allowed origins
may call it, and the gateway, not the function, says so.

As API Gateway does once an HTTP API has a CORS configuration: a preflight (OPTIONS with `Origin`
and `Access-Control-Request-Method`) is answered by the gateway, before any authorizer or route,
with 204; every other response from an allowed origin gets the configured headers; and CORS
headers the function returns are dropped.

Origins come from `IMGPIPE_CORS_ORIGINS`, a JSON list: exact origins (`https://app.example.com`)
or `*`. The local door also takes `http://HOST:*` (any port of HOST) and, when the variable is
unset, allows any port of `http://127.0.0.1` and `http://localhost`: a web app served by a dev
server on this machine. Give Terraform exact origins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.errors import ConfigError

ORIGINS_VARIABLE = "IMGPIPE_CORS_ORIGINS"
LOCAL_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*")
ALLOW_METHODS = ("GET", "POST", "DELETE", "OPTIONS")
ALLOW_HEADERS = ("authorization", "content-type")
EXPOSE_HEADERS = ("apigw-requestid",)
MAX_AGE_S = 300
EXAMPLE = 'give a list, e.g. ["https://app.example.com"]'


@dataclass(frozen=True)
class Cors:
    """A CORS configuration: `allowOrigins`, with the other settings Terraform gives the API."""

    origins: tuple[str, ...] = LOCAL_ORIGINS

    def allowed(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, or None if not allowed."""
        if not origin:
            return None
        for allowed in self.origins:
            if allowed == "*":
                return "*"
            if allowed == origin or (allowed.endswith(":*") and _any_port(allowed[:-2], origin)):
                return origin
        return None

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """The headers API Gateway adds to a (non-preflight) response for this origin."""
        allowed = self.allowed(origin)
        if allowed is None:
            return {}
        return {
            "access-control-allow-origin": allowed,
            "access-control-expose-headers": ",".join(EXPOSE_HEADERS),
            "vary": "origin",
        }

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        """The headers of the 204 answering a preflight (none when the origin is not allowed)."""
        allowed = self.allowed(origin)
        if allowed is None:
            return {}
        return {
            "access-control-allow-origin": allowed,
            "access-control-allow-methods": ",".join(ALLOW_METHODS),
            "access-control-allow-headers": ",".join(ALLOW_HEADERS),
            "access-control-max-age": str(MAX_AGE_S),
            "vary": "origin",
        }


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """True for a CORS preflight request, which the gateway answers itself."""
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def is_cors_header(name: str) -> bool:
    """True for the CORS headers API Gateway drops from a function's response."""
    return name.lower().startswith("access-control-")


def cors_from_environment() -> Cors:
    """The configuration `IMGPIPE_CORS_ORIGINS` gives, or the local default; `ConfigError` naming it."""
    raw = os.environ.get(ORIGINS_VARIABLE)
    if raw is None or not raw.strip():
        return Cors()
    try:
        origins = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{ORIGINS_VARIABLE} is not JSON: {EXAMPLE}") from exc
    if not isinstance(origins, list) or not all(isinstance(o, str) and o for o in origins):
        raise ConfigError(f"{ORIGINS_VARIABLE} must be a JSON list of origins: {EXAMPLE}")
    return Cors(tuple(origins))


def _any_port(base: str, origin: str) -> bool:
    host, colon, port = origin.rpartition(":")
    if not colon or "//" not in host:  # no port given: the scheme's default
        return origin == base
    return host == base and port.isdigit()
