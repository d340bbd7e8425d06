"""The client API's routes as API Gateway declares them: which requests reach the handler at all,
which need a token, and the `routeKey` and `pathParameters` the handler's event carries.

API Gateway answers a request no route matches with 404 `{"message":"Not Found"}` without calling
the function, so the door does too. Terraform's `aws_apigatewayv2_route`s must be this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    """One `METHOD /path/{param}` route; `authorized` routes go through the JWT authorizer."""

    method: str
    path: str
    authorized: bool = True

    @property
    def key(self) -> str:
        """API Gateway's routeKey, e.g. `GET /v1/images/{imageId}`."""
        return f"{self.method} {self.path}"

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        """The path parameters (decoded) when this route takes the request, else None."""
        if method != self.method:
            return None
        wanted, given = self.path.split("/"), raw_path.split("/")
        if len(wanted) != len(given):
            return None
        parameters: dict[str, str] = {}
        for template, segment in zip(wanted, given, strict=True):
            if template.startswith("{") and template.endswith("}"):
                if not segment:
                    return None
                parameters[template[1:-1]] = unquote(segment)
            elif template != segment:
                return None
        return parameters


ROUTES = (
    Route("POST", "/v1/uploads"),
    Route("POST", "/v1/uploads/batch"),
    Route("GET", "/v1/images"),
    Route("GET", "/v1/images/{imageId}"),
    Route("DELETE", "/v1/images/{imageId}"),
    Route("GET", "/v1/openapi.json", authorized=False),
)


def find_route(
    method: str, raw_path: str, routes: tuple[Route, ...] = ROUTES
) -> tuple[Route, dict[str, str]] | None:
    """The route that takes `method raw_path` and its path parameters, or None (a 404)."""
    for route in routes:
        parameters = route.match(method, raw_path)
        if parameters is not None:
            return route, parameters
    return None
