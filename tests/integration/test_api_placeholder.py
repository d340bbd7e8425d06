"""A processed image's placeholder, from the worker's manifest to the client API, against the moto
server: it holds the picture's colour, the API returns it for complete images, and manifests
written before placeholders existed (and failures) answer without one."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image

from shared.keys import manifest_key
from tests.api_support import call, http_event
from tests.fixtures import images
from tests.integration.conftest import Stack
from worker.api.app import create_app
from worker.api.aws import s3_client
from worker.api.settings import load_api_settings
from worker.formats import thumbhash

pytestmark = pytest.mark.integration


@pytest.fixture
def api(stack: Stack) -> Iterator[Any]:
    stack.configure(IMGPIPE_INPUT_BUCKET=stack.topology.input_bucket)
    s3_client.cache_clear()
    yield create_app(load_api_settings()).resolve
    s3_client.cache_clear()


def _processed(stack: Stack, api: Any, body: bytes, name: str = "photo.jpg") -> str:
    """Sign through the API, upload, and let the worker take the event; the imageId."""
    request = {"filename": name, "contentType": "image/jpeg", "size": len(body)}
    signed = call(api, http_event("POST", "/v1/uploads", request, sub="alice")).json()
    stack.s3.put_object(Bucket=stack.topology.input_bucket, Key=signed["key"], Body=body)
    (message,) = stack.drain(1)
    assert stack.process([message]) == {"batchItemFailures": []}
    return str(signed["imageId"])


def _view(api: Any, image_id: str) -> dict[str, Any]:
    answer = call(api, http_event("GET", f"/v1/images/{image_id}", sub="alice"))
    assert answer.status == 200
    return dict(answer.json())


def _mean_rgb(data: bytes) -> list[float]:
    with Image.open(io.BytesIO(data)) as picture:
        return [float(c) for c in np.asarray(picture.convert("RGB"), np.float64).reshape(-1, 3).mean(axis=0)]


def test_a_processed_images_placeholder_holds_its_colour_and_reaches_the_api(stack: Stack, api: Any) -> None:
    # Given a photo processed by the worker
    body = images.photo_jpeg(1200, 800)
    image_id = _processed(stack, api, body)
    # Then its manifest has a placeholder of its shape (from `small`, 320 x 213, in 4 x 4 blocks),
    # whose hash decodes to the photo's colour
    manifest = stack.manifest(image_id)
    assert manifest is not None and manifest["status"] == "complete"
    hint = manifest["placeholder"]
    assert (hint["width"], hint["height"]) == (80, 53)
    held = thumbhash.average_rgba(base64.b64decode(hint["thumbhash"], validate=True))
    assert [255 * c for c in held[:3]] == pytest.approx(_mean_rgb(body), abs=6)
    assert [int(hint["color"][i : i + 2], 16) for i in (1, 3, 5)] == pytest.approx(_mean_rgb(body), abs=3)
    # and the API returns it with the image's variants
    view = _view(api, image_id)
    assert view["status"] == "complete" and view["variants"]
    assert view["placeholder"] == {"thumbhash": hint["thumbhash"], "color": hint["color"]}


def test_a_manifest_from_before_placeholders_answers_without_one(stack: Stack, api: Any) -> None:
    # Given a complete image whose manifest was written before the worker made placeholders
    image_id = _processed(stack, api, images.photo_jpeg(640, 480))
    manifest = stack.manifest(image_id)
    assert manifest is not None
    del manifest["placeholder"]
    stack.s3.put_object(
        Bucket=stack.topology.output_bucket, Key=manifest_key(image_id), Body=json.dumps(manifest)
    )
    # Then it is still complete, with its variants, and no placeholder
    view = _view(api, image_id)
    assert view["status"] == "complete" and len(view["variants"]) == 5
    assert view["placeholder"] is None


def test_a_failed_image_has_no_placeholder(stack: Stack, api: Any) -> None:
    image_id = _processed(stack, api, images.truncated_jpeg())
    manifest = stack.manifest(image_id)
    assert manifest is not None and manifest["status"] == "failed"
    assert "placeholder" not in manifest
    assert _view(api, image_id)["placeholder"] is None
