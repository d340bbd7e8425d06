"""Deciding, without changing anything, which objects under `processed/` are garbage.

A manifest lists exactly the keys clients may fetch, so an object no manifest lists is garbage
once its run can no longer commit it. A run writes its render's variants, then commits its
manifest, within one invocation (at most 15 minutes on Lambda). So a render is judged whole, by
its newest object: when even that is older than the cut-off, the run that wrote it ended before
the sweep started, and a manifest read after the start shows its commit, if there was one. A
render with any object younger than the cut-off is never a candidate, whatever its other
objects' ages, so a render is never cut in half while its run may still commit it. Plain and
watermarked variants of one render (`processed/...` and `processed/watermarked/...`) are one
render. A tombstone (the owner deleted the image) lists nothing, so every render under it is
judged so too, by the same cut-off. Used by `imgpipe sweep` (every manifest at once) and the
scheduled sweep (a page at a time).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.keys import PROCESSED_PREFIX, WATERMARKED_USER, image_prefixes
from shared.manifest import Manifest

# A render: (userId, imageId, renderId); a key outside any render (a legacy variant): the key.
Unit = tuple[str, ...]


@dataclass(frozen=True)
class Stored:
    """One object under `processed/`."""

    key: str
    bytes: int
    last_modified: datetime


@dataclass(frozen=True)
class Orphan:
    """An object to remove, and what kind of garbage it is."""

    stored: Stored
    reason: str  # "orphan render", "legacy variant", "no manifest", "deleted image"


@dataclass
class Plan:
    """What a sweep removes and keeps; computed without changing anything."""

    manifests: int
    remove: list[Orphan] = field(default_factory=list)
    listed: list[Stored] = field(default_factory=list)
    recent: list[Stored] = field(default_factory=list)


def _parts(key: str) -> tuple[bool, list[str]]:
    parts = key[len(PROCESSED_PREFIX) :].split("/")
    watermarked = parts[0] == WATERMARKED_USER and len(parts) > 1
    return watermarked, parts[1:] if watermarked else parts


def unit_of(key: str) -> Unit:
    """The render `key` belongs to (plain and watermarked alike), or the key alone outside one."""
    _, parts = _parts(key)
    return tuple(parts[:3]) if len(parts) > 3 else (key,)


def image_of(key: str) -> str | None:
    """The imageId segment of a key under `processed/`, if the key has one."""
    _, parts = _parts(key)
    return parts[1] if len(parts) > 2 else None


def render_prefixes(unit: Unit) -> tuple[str, str] | None:
    """A render's two prefixes (plain, watermarked); None for a key outside a render."""
    if len(unit) != 3:
        return None
    plain, watermarked = image_prefixes(unit[0], unit[1])
    return f"{plain}{unit[2]}/", f"{watermarked}{unit[2]}/"


def newest(stored: Sequence[Stored]) -> dict[Unit, datetime]:
    """The last-modified time of each unit's newest object."""
    found: dict[Unit, datetime] = {}
    for obj in stored:
        unit = unit_of(obj.key)
        if unit not in found or obj.last_modified > found[unit]:
            found[unit] = obj.last_modified
    return found


def plan(
    manifests: Sequence[Manifest],
    stored: Sequence[Stored],
    cutoff: datetime,
    elsewhere: Mapping[Unit, datetime] | None = None,
) -> Plan:
    """Split `stored` into kept (listed, or in a render with an object modified at or after
    `cutoff`) and orphans to remove. `elsewhere`: the newest times of objects of these renders
    that are not in `stored` (the other half of a render a page did not list)."""
    listed = {variant.key for manifest in manifests for variant in manifest.variants}
    images = {p for manifest in manifests for p in image_prefixes(manifest.user_id, manifest.image_id)}
    # A tombstone lists nothing: every render under an image its owner deleted is an orphan.
    deleted = {p for m in manifests if m.deleted for p in image_prefixes(m.user_id, m.image_id)}
    latest = newest(stored)
    for unit, when in (elsewhere or {}).items():
        latest[unit] = max(when, latest.get(unit, when))
    result = Plan(manifests=len(manifests))
    for obj in stored:
        if obj.key in listed:
            result.listed.append(obj)
        elif latest[unit_of(obj.key)] >= cutoff:
            result.recent.append(obj)
        else:
            result.remove.append(Orphan(obj, kind(obj.key, images, deleted)))
    return result


def kind(key: str, images: set[str], deleted: Collection[str] = ()) -> str:
    """Why an unlisted object is garbage, given the image prefixes the manifests cover (and
    those of images their owners deleted)."""
    watermarked, parts = _parts(key)
    depth = 2  # user/image/
    prefix = (
        PROCESSED_PREFIX + (f"{WATERMARKED_USER}/" if watermarked else "") + "/".join(parts[:depth]) + "/"
    )
    if prefix in deleted:
        return "deleted image"
    if prefix not in images:
        return "no manifest"
    return "orphan render" if len(parts) > depth + 1 else "legacy variant"
