"""The name the user gave the file travels with the upload: into the manifest and the DLQ."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.fixtures import images
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

NAME = "Sommer 2026/Strand & Meer – ü.jpg"  # spaces, a slash, '&', an en dash, a non-ASCII letter


def _upload_named(stack: Stack, key: str, body: bytes, name: str) -> dict[str, object]:
    stack.s3.put_object(
        Bucket=stack.topology.input_bucket, Key=key, Body=body, Metadata={"original-filename": quote(name)}
    )
    (message,) = stack.drain(1)
    return message


def test_the_manifest_records_the_original_filename(stack: Stack) -> None:
    # Given an upload whose metadata carries its (URL-quoted) original name
    message = _upload_named(stack, "uploads/u1/named.jpg", images.photo_jpeg(320, 240), NAME)
    # When it is processed
    assert stack.process([message]) == {"batchItemFailures": []}
    # Then the manifest's source names it, decoded
    manifest = stack.manifest("named")
    assert manifest is not None and manifest["source"]["originalFilename"] == NAME


def test_a_quarantined_upload_keeps_its_original_filename_and_redrive_count(stack: Stack) -> None:
    # Given a corrupt upload with a name, delivered as a redrive that already happened twice
    message = _upload_named(stack, "uploads/u1/broken.jpg", images.truncated_jpeg(), NAME)
    message["MessageAttributes"] = {"imgpipe-redrive-count": {"DataType": "String", "StringValue": "2"}}
    # When it is quarantined
    assert stack.process([message]) == {"batchItemFailures": []}
    # Then the DLQ message and the failed manifest carry the name, and the count carries on
    (quarantined,) = stack.dlq_messages()
    attributes = {k: v["StringValue"] for k, v in quarantined["MessageAttributes"].items()}
    assert attributes["imgpipe-original-filename"] == NAME
    assert attributes["imgpipe-redrive-count"] == "2"
    manifest = stack.manifest("broken")
    assert manifest is not None and manifest["status"] == "failed"
    assert manifest["source"]["originalFilename"] == NAME


def test_an_upload_without_a_name_has_none(stack: Stack) -> None:
    ((_, message),) = stack.upload_and_receive([("uploads/u1/plain.jpg", images.truncated_jpeg())]).values()
    assert stack.process([message]) == {"batchItemFailures": []}
    (quarantined,) = stack.dlq_messages()
    assert "imgpipe-original-filename" not in quarantined["MessageAttributes"]
    assert "imgpipe-redrive-count" not in quarantined["MessageAttributes"]
