"""The routes: one small function each, from a validated request to a call below and back.

Each reads the caller from the token (`identity.caller`), never from the request, and leaves
S3 to `uploads` and `images`. What a route can answer besides success is listed with it, so
the OpenAPI document says which problems a client must handle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from worker.api import deletion, images, uploads
from worker.api.identity import caller
from worker.api.ids import is_image_id
from worker.api.models import (
    BatchUploadRequest,
    BatchUploadResult,
    ImagePage,
    ImageView,
    Problem,
    UploadCreated,
    UploadRequest,
)
from worker.api.problems import NOT_FOUND, PROBLEM_JSON, ApiProblem, refusal
from worker.api.settings import ApiSettings

SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
ImageId = Annotated[str, Path(alias="imageId", description="the id POST /v1/uploads returned")]
Limit = Annotated[int, Query(ge=1, le=100, description="images per page")]
Cursor = Annotated[str | None, Query(max_length=2048, description="nextCursor of the previous page")]
BATCH_STATUSES = "201 when every file got its form; 207 when any was refused (see each item's status)."


def answers(success: dict[int, str], *problem_statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for what a route answers: its successes (the return type's schema), then
    the problem responses it can give."""
    content: Any = {PROBLEM_JSON: {"model": Problem}}
    documented: dict[int, OpenAPIResponse] = {
        status: {"description": text} for status, text in success.items()
    }
    for status in problem_statuses:
        documented[status] = {"description": "a problem (RFC 9457)", "content": content}
    return documented


def register(app: APIGatewayHttpResolver, settings: ApiSettings, s3: Callable[[], Any]) -> None:
    """Add every route to `app`; `s3` gives the (lazily made) S3 client."""
    _upload_routes(app, settings, s3)
    _image_routes(app, settings, s3)


def _upload_routes(app: APIGatewayHttpResolver, settings: ApiSettings, s3: Callable[[], Any]) -> None:
    @app.post(
        "/v1/uploads",
        status_code=201,
        security=SECURITY,
        responses=answers({201: "the signed form"}, 400, 401, 415, 422),
        summary="Sign an upload of one file",
    )
    def create_upload(body: UploadRequest) -> UploadCreated:
        user_id = caller(app.current_event)
        try:
            return uploads.create_upload(s3(), settings, user_id, body)
        except uploads.REFUSED as exc:
            raise refusal(exc) from exc

    batch_answers = answers({201: "every file signed", 207: "some files refused"}, 400, 401, 415, 422)

    @app.post(
        "/v1/uploads/batch",
        status_code=201,
        security=SECURITY,
        responses=batch_answers,
        summary="Sign uploads of up to 100 files",
        description=BATCH_STATUSES,
    )
    def create_uploads(body: BatchUploadRequest) -> Response[BatchUploadResult]:
        result = uploads.create_uploads(s3(), settings, caller(app.current_event), body.files)
        return Response(201 if result.refused == 0 else 207, "application/json", result)


def _image_routes(app: APIGatewayHttpResolver, settings: ApiSettings, s3: Callable[[], Any]) -> None:
    @app.get(
        "/v1/images/<imageId>",
        security=SECURITY,
        responses=answers({200: "the image"}, 401, 404, 503),
        summary="One image's status and, when complete, its variants",
    )
    def get_image(image_id: ImageId) -> ImageView:
        user_id = caller(app.current_event)
        view = images.image_view(s3(), settings, user_id, image_id) if is_image_id(image_id) else None
        if view is None:
            raise ApiProblem(NOT_FOUND, f"you have no image {image_id!r}")
        return view

    @app.get(
        "/v1/images",
        security=SECURITY,
        responses=answers({200: "a page of images"}, 400, 401, 422, 503),
        summary="The caller's images, newest first",
    )
    def list_images(limit: Limit = 20, cursor: Cursor = None) -> ImagePage:
        return images.list_images(s3(), settings, caller(app.current_event), limit, cursor)

    @app.delete(
        "/v1/images/<imageId>",
        status_code=204,
        security=SECURITY,
        responses=answers({204: "deleted (also when it already was)"}, 401, 404, 503),
        summary="Delete an image: its upload, every render and its manifest",
    )
    def delete_image(image_id: ImageId) -> Response[None]:
        user_id = caller(app.current_event)
        result = "not_found"
        if is_image_id(image_id):
            result = deletion.delete_image(
                s3(),
                input_bucket=settings.input_bucket,
                output_bucket=settings.output_bucket,
                user_id=user_id,
                image_id=image_id,
                kms_key_id=settings.kms_key_id,
            )
        if result == "not_found":
            raise ApiProblem(NOT_FOUND, f"you have no image {image_id!r}")
        return Response(204)
