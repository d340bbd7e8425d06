"""The manifest's `placeholder`: additive, so manifests written before it still parse and say
nothing of it, and only a complete render carries one (never a tombstone)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.manifest import (
    Manifest,
    PipelineRecord,
    PlaceholderRecord,
    SourceRecord,
    VariantRecord,
    build_tombstone,
    parse_manifest,
)

pytestmark = pytest.mark.unit

SOURCE = SourceRecord(bucket="in", key="uploads/u1/img1.jpg", etag="abc", width=900, height=600)
HINT = PlaceholderRecord(thumbhash="3gcKTYqAh3eKd3eIh4d3d4OACMd3", color="#837d6f", width=100, height=67)
# As a worker wrote it before placeholders: no such key.
EARLIER = {
    "schema": 1, "status": "complete", "imageId": "img1", "userId": "u1",
    "source": {"bucket": "in", "key": "uploads/u1/img1.jpg", "etag": "abc"},
    "variants": [{"name": "small", "key": "processed/u1/img1/r1/small.jpg", "format": "jpeg", "width": 320,
                  "height": 213, "bytes": 1000, "sha256": "0" * 64}],
    "pipeline": {"version": "1", "configHash": "cfg", "renderId": "r1"},
    "timingsMs": {"total": 50.0}, "processedAt": "2026-12-01T09:11:25.400Z",
}  # fmt: skip


def _complete(placeholder: PlaceholderRecord | None) -> Manifest:
    variant = VariantRecord.model_validate(EARLIER["variants"][0])  # type: ignore[index]
    return Manifest(
        status="complete",
        image_id="img1",
        user_id="u1",
        source=SOURCE,
        variants=(variant,),
        pipeline=PipelineRecord(config_hash="cfg", render_id="r1"),
        placeholder=placeholder,
    )


def test_a_placeholder_round_trips_under_its_contract_names() -> None:
    manifest = _complete(HINT)
    written = json.loads(manifest.to_json())
    assert written["placeholder"] == {
        "thumbhash": "3gcKTYqAh3eKd3eIh4d3d4OACMd3",
        "color": "#837d6f",
        "width": 100,
        "height": 67,
    }
    assert parse_manifest(manifest.to_json()) == manifest


def test_a_manifest_from_before_placeholders_still_parses() -> None:
    manifest = parse_manifest(json.dumps(EARLIER))
    assert manifest.status == "complete" and manifest.placeholder is None
    assert "placeholder" not in json.loads(manifest.to_json())  # nor is one invented on rewrite
    assert manifest.covers("abc", None, "cfg")  # still the result for its upload and config


def test_a_tombstone_drops_the_placeholder_of_what_it_replaces() -> None:
    tombstone = build_tombstone(
        image_id="img1",
        user_id="u1",
        source=SOURCE,
        uploads=(),
        deleted_at=datetime(2026, 12, 7, tzinfo=UTC),
        replaced=_complete(HINT),
        deletion_id="d1",
    )
    assert tombstone.placeholder is None
    assert "placeholder" not in json.loads(tombstone.to_json())
