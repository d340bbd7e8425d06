"""Through the real stack: phone HEIC renders, a benign decoder warning lands in the manifest,
and an upload whose decode would not fit the worker's memory budget is quarantined with its
estimate, before anything is decoded."""

from __future__ import annotations

import pytest

from tests.fixtures import edge_images, images
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def _dlq_reasons(stack: Stack) -> dict[str, tuple[str, str]]:
    found = {}
    for message in stack.dlq_messages():
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        found[attributes["imgpipe-object-key"]] = (
            attributes["imgpipe-error-type"],
            attributes["imgpipe-error-message"],
        )
    return found


def test_heic_and_a_warning_only_jpeg_render_and_the_warning_is_in_the_manifest(stack: Stack) -> None:
    received = stack.upload_and_receive(
        [
            ("uploads/u1/phone.heic", edge_images.heic(240, 160, 6)),
            ("uploads/u1/stray.jpg", edge_images.jpeg_junk_before_marker()),
            ("uploads/u1/cut.jpg", images.truncated_jpeg()),
        ]
    )
    assert stack.process([m for _, m in received.values()]) == {"batchItemFailures": []}

    phone = stack.manifest("phone")
    assert phone is not None and phone["status"] == "complete", phone
    assert phone["source"]["format"] == "heif"
    assert {v["name"]: (v["width"], v["height"]) for v in phone["variants"]}["original"] == (240, 160)
    assert "warnings" not in phone

    stray = stack.manifest("stray")
    assert stray is not None and stray["status"] == "complete", stray
    assert stray["warnings"] == ["4 extraneous bytes before marker 0xc0 (outside the picture, dropped)"]
    stack.assert_consistent("stray", "u1", received["uploads/u1/stray.jpg"][0])

    assert _dlq_reasons(stack)["uploads/u1/cut.jpg"][0] == "CorruptImage"


def test_an_upload_over_the_memory_budget_is_quarantined_with_its_estimate(stack: Stack) -> None:
    # Given a worker with a 256 MB decode budget, a 25 MP 10-bit AVIF of a few KB, and a JPEG
    stack.configure(IMGPIPE_MEMORY_BUDGET_MB="256")
    avif = edge_images.flat_avif(5000, 5000, 10)
    assert len(avif) < 20_000
    received = stack.upload_and_receive(
        [("uploads/u1/tiny.avif", avif), ("uploads/u1/fine.jpg", images.photo_jpeg(400, 300))]
    )
    # When the batch is handled
    assert stack.process([m for _, m in received.values()]) == {"batchItemFailures": []}
    # Then the AVIF is quarantined as too large, naming its estimate and the budget
    error_type, message = _dlq_reasons(stack)["uploads/u1/tiny.avif"]
    assert error_type == "ImageTooLarge"
    assert "decoding needs about" in message and "MiB" in message and "budget of 256 MiB" in message
    failed = stack.manifest("tiny")
    assert failed is not None and failed["status"] == "failed" and failed["error"]["type"] == "ImageTooLarge"
    # And the JPEG beside it is processed
    stack.assert_consistent("fine", "u1", received["uploads/u1/fine.jpg"][0])
