"""Through the real stack: whatever a decoder makes of an upload's bytes is decided once.

A HEIC libheif calls an "Unsupported feature" (pi-heif raises `SyntaxError`), a valid tiled
TIFF with separate planes and a WebP whose header claims 16383x16383 are quarantined on their
first delivery with their class and reason, never reported back for SQS to retry.
"""

from __future__ import annotations

import pytest

from tests.fixtures import decoder_edges
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

UNSUPPORTED, TOO_LARGE = "UnsupportedFormat", "ImageTooLarge"
UPLOADS = {
    "uploads/u1/feature.heic": (decoder_edges.heic_box_version, UNSUPPORTED, "iloc box data version 9"),
    "uploads/u1/colour.heic": (decoder_edges.heic_monochrome_over_colour, UNSUPPORTED, "color conversion"),
    "uploads/u1/planes.tif": (decoder_edges.tiff_tiled_separate_planes, UNSUPPORTED, "separate planes"),
    "uploads/u1/canvas.webp": (decoder_edges.webp_claiming, TOO_LARGE, "16383x16383 is 268402689 pixels"),
}


def test_decoder_failures_are_quarantined_on_first_delivery_with_their_reason(stack: Stack) -> None:
    # Given four uploads each decoder refuses in its own way
    received = stack.upload_and_receive([(key, make()) for key, (make, _, _) in UPLOADS.items()])
    # When their batch is handled once, then nothing is left for SQS to retry
    assert stack.process([message for _, message in received.values()]) == {"batchItemFailures": []}
    # And each is in the DLQ once, with its class and the decoder's words, beside a failed manifest
    found: dict[str, tuple[str, str]] = {}
    for message in stack.dlq_messages():
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        key = attributes["imgpipe-object-key"]
        assert key not in found, f"{key} quarantined twice"
        found[key] = (attributes["imgpipe-error-type"], attributes["imgpipe-error-message"])
    assert set(found) == set(UPLOADS)
    for key, (_, error_type, words) in UPLOADS.items():
        assert found[key][0] == error_type and words in found[key][1], (key, found[key])
        manifest = stack.manifest(key.rsplit("/", 1)[1].split(".")[0])
        assert manifest is not None and manifest["status"] == "failed", manifest
        assert manifest["error"]["type"] == error_type
