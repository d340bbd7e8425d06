"""One page of the scheduled sweep: a bounded slice of `processed/`, judged on its own.

A page lists up to `max_keys` objects after a key, then the rest of the render it ended in (so a
render is never split between two pages), reads the manifests of just the images it holds (the
only manifests that can list their keys: `metadata/{imageId}/` lists keys under that imageId)
and removes what none lists and is older than the cut-off. Every page is safe on its own: the
cut-off was taken before the page was read, so no continuation state is needed for safety,
only for progress. An unreadable manifest keeps its image's objects and is reported.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.keys import PROCESSED_PREFIX, manifest_key
from shared.manifest import Manifest
from worker.orphans.plan import Orphan, Plan, Stored, Unit, image_of, newest, plan, render_prefixes, unit_of

DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
READ_WORKERS = 16


@dataclass(frozen=True)
class Page:
    """The objects of one page, and the key the next page starts after (None: the end)."""

    stored: list[Stored]
    after: str | None


@dataclass
class Swept:
    """What one page kept, removed and could not do."""

    plan: Plan
    unreadable: dict[str, str] = field(default_factory=dict)  # manifest key -> why
    refused: dict[str, str] = field(default_factory=dict)  # object key -> S3's code


def list_page(s3: Any, bucket: str, after: str, max_keys: int) -> Page:
    """Up to `max_keys` objects after `after`, completed to the end of the last render."""
    start = {"StartAfter": after} if after else {}
    response = s3.list_objects_v2(Bucket=bucket, Prefix=PROCESSED_PREFIX, MaxKeys=max_keys, **start)
    stored = [_stored(obj) for obj in response.get("Contents", [])]
    if not response.get("IsTruncated") or not stored:
        return Page(stored, None)
    prefixes = render_prefixes(unit_of(stored[-1].key))
    if prefixes is not None:
        own = next(p for p in prefixes if stored[-1].key.startswith(p))
        stored += list_all(s3, bucket, own, after=stored[-1].key)
    return Page(stored, stored[-1].key)


def list_all(s3: Any, bucket: str, prefix: str, after: str = "") -> list[Stored]:
    """Every object under `prefix` (after `after`)."""
    start = {"StartAfter": after} if after else {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **start)
    return [_stored(obj) for page in pages for obj in page.get("Contents", [])]


def sweep_page(s3: Any, bucket: str, stored: list[Stored], cutoff: datetime) -> Swept:
    """Remove the page's objects no manifest lists whose whole render is older than `cutoff`."""
    images = {image for obj in stored if (image := image_of(obj.key)) is not None}
    manifests, unreadable = read_manifests(s3, bucket, images)
    judged = [obj for obj in stored if image_of(obj.key) not in unreadable]
    first = plan(manifests, judged, cutoff)
    elsewhere = _other_halves(s3, bucket, first.remove, {o.key for o in stored})
    result = plan(manifests, judged, cutoff, elsewhere) if elsewhere else first
    result.recent += [obj for obj in stored if image_of(obj.key) in unreadable]
    refused = delete(s3, bucket, result.remove)
    keys = {image: manifest_key(image) for image in unreadable}
    return Swept(result, {keys[i]: why for i, why in unreadable.items()}, refused)


def read_manifests(s3: Any, bucket: str, images: set[str]) -> tuple[list[Manifest], dict[str, str]]:
    """The manifests of `images` (none for an image without one), and the images whose
    manifest cannot be parsed, with why. Any other failure raises: the page is not judged."""

    def read(image: str) -> tuple[str, Manifest | None, str | None]:
        try:
            body = s3.get_object(Bucket=bucket, Key=manifest_key(image))["Body"].read()
        except s3.exceptions.NoSuchKey:
            return image, None, None
        try:
            return image, Manifest.model_validate_json(body), None
        except ValueError as exc:
            return image, None, str(exc).splitlines()[0]

    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        results = list(pool.map(read, sorted(images)))
    manifests = [manifest for _, manifest, _ in results if manifest is not None]
    return manifests, {image: why for image, _, why in results if why is not None}


def delete(s3: Any, bucket: str, orphans: list[Orphan]) -> dict[str, str]:
    """DeleteObjects in batches of 1000; returns every key S3 refused, with its code."""
    refused: dict[str, str] = {}
    for start in range(0, len(orphans), DELETE_BATCH):
        chunk = orphans[start : start + DELETE_BATCH]
        response = s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": orphan.stored.key} for orphan in chunk], "Quiet": True},
        )
        refused.update({str(e.get("Key")): str(e.get("Code")) for e in response.get("Errors", [])})
    return refused


def _other_halves(s3: Any, bucket: str, candidates: list[Orphan], seen: set[str]) -> dict[Unit, datetime]:
    # A render's plain and watermarked halves sort far apart: before removing one, look at the
    # other, so the render is judged by its newest object wherever it lies.
    found: dict[Unit, datetime] = {}
    for unit in {unit_of(o.stored.key) for o in candidates}:
        for prefix in render_prefixes(unit) or ():
            if not any(key.startswith(prefix) for key in seen):
                found.update(newest(list_all(s3, bucket, prefix)))
    return found


def _stored(obj: dict[str, Any]) -> Stored:
    return Stored(str(obj["Key"]), int(obj.get("Size", 0)), obj["LastModified"])
