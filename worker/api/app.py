"""The resolver: routes, CORS, the OpenAPI document, and one problem response for every failure.

Built from settings and an S3 client factory, so tests build it with theirs and the Lambda entry
point (`worker.api.handler`) builds it once at cold start. Nothing escapes as a bare 500 from
API Gateway: an unexpected error is logged and answered as `internal-error`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from shared.errors import RetryableError
from shared.observability import logger
from worker.api import routes
from worker.api.aws import s3_client
from worker.api.identity import subject
from worker.api.problems import (
    INTERNAL,
    NOT_FOUND,
    PROBLEM_JSON,
    UNAUTHENTICATED,
    UNAVAILABLE,
    UNSUPPORTED_MEDIA_TYPE,
    ApiProblem,
    validation_problem,
)
from worker.api.settings import ApiSettings

TITLE = "imgpipe client API"
VERSION = "1.0.0"
OPENAPI_PATH = "/v1/openapi.json"
_POWERTOOLS_SCHEMAS = {"HTTPValidationError", "ValidationError", "ResponseValidationError"}


def create_app(settings: ApiSettings, s3: Callable[[], Any] = s3_client) -> APIGatewayHttpResolver:
    """The resolver with every route; `s3` gives the S3 client (made on first use by default)."""
    app = APIGatewayHttpResolver(
        cors=_cors(settings.cors_origins), enable_validation=True, json_body_deserializer=json_object
    )
    routes.register(app, settings, s3)
    _register_problems(app)

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(200, "application/json", _openapi_json(app))

    return app


def json_object(text: str) -> dict[str, Any]:
    """A request body parsed as a JSON object; anything else is a `json.JSONDecodeError`.

    Powertools would validate the first element of a JSON array as the body (its form-data
    rule), so `[good, anything]` would pass: a body that is not an object is malformed here.
    """
    value = json.loads(text)
    if not isinstance(value, dict):
        kind = {"NoneType": "null", "list": "an array", "str": "a string"}.get(
            type(value).__name__, "a scalar"
        )
        raise json.JSONDecodeError(f"expected an object, got {kind}", text, 0)
    return value


def problem_response(problem: ApiProblem) -> Response[str]:
    """The HTTP response of `problem`."""
    headers = {"WWW-Authenticate": "Bearer"} if problem.kind is UNAUTHENTICATED else {}
    if problem.kind is UNAVAILABLE:
        headers["Retry-After"] = "1"
    return Response(problem.kind.status, PROBLEM_JSON, problem.to_json(), headers=headers)


def _register_problems(app: APIGatewayHttpResolver) -> None:
    def signed_in(problem: ApiProblem) -> Response[str]:
        # Validation runs before a route: an anonymous request learns first that it is anonymous.
        if subject(app.current_event) is None:
            problem = ApiProblem(
                UNAUTHENTICATED, "the request carries no verified token with a usable sub claim"
            )
        return problem_response(problem)

    app.exception_handler(ApiProblem)(problem_response)
    app.exception_handler(RequestValidationError)(lambda exc: signed_in(validation_problem(exc.errors())))
    app.exception_handler(RequestUnsupportedContentType)(
        lambda exc: signed_in(ApiProblem(UNSUPPORTED_MEDIA_TYPE, "send the body as application/json"))
    )
    app.exception_handler(NotFoundError)(
        lambda exc: problem_response(ApiProblem(NOT_FOUND, f"no route {app.current_event.path}"))
    )

    app.exception_handler(RetryableError)(_unavailable)
    app.exception_handler(Exception)(_internal)


def _unavailable(exc: RetryableError) -> Response[str]:
    logger.warning("storage unavailable", extra={"error": str(exc)})
    return problem_response(ApiProblem(UNAVAILABLE, "storage did not answer in time; try again"))


def _internal(exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return problem_response(ApiProblem(INTERNAL, "something went wrong on our side"))


def _cors(origins: tuple[str, ...]) -> CORSConfig | None:
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )


@functools.cache
def _openapi_json(app: APIGatewayHttpResolver) -> str:
    # Built on the first request for it, not at cold start: only tools read it.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    document = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description="Sign uploads straight to S3 and follow your images. Errors are RFC 9457 problems.",
            security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
        )
    )
    return json.dumps(_without_powertools_errors(document), separators=(",", ":"))


def _without_powertools_errors(document: dict[str, Any]) -> dict[str, Any]:
    # Powertools documents its own 422 body on every route; this API answers problems instead
    # (each route lists its own), so its schemas and the 422s that use them would only mislead.
    # It also gives a 204 a JSON body of null, where there is no body at all.
    for path in document.get("paths", {}).values():
        for operation in path.values():
            answers = operation.get("responses", {})
            for status, answer in list(answers.items()):
                if _POWERTOOLS_SCHEMAS & set(re.findall(r"schemas/(\w+)", json.dumps(answer))):
                    del answers[status]
                elif status == "204":
                    answer.pop("content", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in _POWERTOOLS_SCHEMAS & set(schemas):
        del schemas[name]
    return document
