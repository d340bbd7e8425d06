"""The deletion tombstone (`shared.manifest`): its JSON, and the line it draws between the uploads
a deletion covers and a new upload to the same key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.manifest import (
    DeletedUpload,
    Manifest,
    PipelineRecord,
    SourceRecord,
    build_tombstone,
    parse_manifest,
    parse_time,
)

pytestmark = pytest.mark.unit

SOURCE = SourceRecord(bucket="in", key="uploads/u1/img.jpg", etag="e1")
AT = datetime(2026, 12, 1, 9, 11, 25, 400_000, tzinfo=UTC)


def _complete() -> Manifest:
    return Manifest(status="complete", image_id="img", user_id="u1", source=SOURCE,
                    pipeline=PipelineRecord(config_hash="c1", render_id="r1"))  # fmt: skip


def _tombstone(replaced: Manifest | None = None) -> Manifest:
    return build_tombstone(
        image_id="img", user_id="u1", source=SOURCE, uploads=[DeletedUpload(key=SOURCE.key, etag="e1")],
        deleted_at=AT, replaced=replaced, deletion_id="d1",
    )  # fmt: skip


def test_a_tombstone_is_a_manifest_every_reader_parses() -> None:
    document = json.loads(_tombstone(_complete()).to_json())
    assert document == {
        "schema": 1, "status": "deleted", "imageId": "img", "userId": "u1",
        "source": {"bucket": "in", "key": "uploads/u1/img.jpg", "etag": "e1"}, "variants": [],
        "pipeline": {"version": document["pipeline"]["version"], "configHash": "c1", "renderId": "d1"},
        "timingsMs": {}, "processedAt": "2026-12-01T09:11:25.400Z", "deletedAt": "2026-12-01T09:11:25.400Z",
        "deletedUploads": [{"key": "uploads/u1/img.jpg", "etag": "e1"}],
    }  # fmt: skip
    parsed = parse_manifest(json.dumps(document))
    assert parsed.deleted and not parsed.covers("e1", None, "c1")


def test_a_complete_manifest_carries_no_deletion_fields() -> None:
    document = json.loads(_complete().to_json())
    assert "deletedAt" not in document and "deletedUploads" not in document
    assert not _complete().deleted and not _complete().deletion_covers(None)


@pytest.mark.parametrize(
    ("modified", "covered"),
    [
        (None, True),  # the upload is gone
        (AT - timedelta(days=1), True),
        (AT.replace(microsecond=0), True),  # HeadObject's whole second of the deletion
        (AT + timedelta(milliseconds=300), True),  # later in that second: S3 stamps it as that second
        (AT.replace(microsecond=0) + timedelta(seconds=1), False),  # the next second: a new upload
        (AT + timedelta(hours=1), False),
    ],
)
def test_the_deletion_covers_uploads_up_to_its_second(modified: datetime | None, covered: bool) -> None:
    assert _tombstone().deletion_covers(modified) is covered


def test_times_are_read_back_timezone_aware() -> None:
    assert parse_time("2026-12-01T09:11:25.400Z") == AT
