"""S3 event keys are decoded once, as form values: AWS's encoding and moto's name the same key."""

from __future__ import annotations

import json

import pytest

from worker.events import parse_body

pytestmark = pytest.mark.unit


def _body(encoded_key: str) -> str:
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "in"}, "object": {"key": encoded_key, "size": 3, "eTag": "e"}},
    }
    return json.dumps({"Records": [record]})


@pytest.mark.parametrize(
    ("sent", "key"),
    [
        ("uploads/u1/img_1.jpg", "uploads/u1/img_1.jpg"),  # AWS: `/` kept
        ("uploads%2Fu1%2Fimg_1.jpg", "uploads/u1/img_1.jpg"),  # moto: `/` encoded
        ("uploads/u1/my+photo%2B1.jpg", "uploads/u1/my photo+1.jpg"),  # `+` is a space, %2B a plus
        ("uploads/u1/caf%C3%A9.jpg", "uploads/u1/café.jpg"),
    ],
    ids=["aws", "moto", "space-and-plus", "utf-8"],
)
def test_keys_are_decoded_however_the_emulator_encoded_them(sent: str, key: str) -> None:
    assert [ref.key for ref in parse_body(_body(sent))] == [key]
