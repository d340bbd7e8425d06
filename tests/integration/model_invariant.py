"""What must hold once every record of a property-test example is acknowledged.

(1) a complete manifest's variants are stored with exactly the listed sha256 (each read back);
(2) if the manifest's key holds an upload now, the manifest describes it: complete for a good
    upload, failed for a corrupt one; a failed manifest of an older upload never stands over a
    newer one;
(3) results outlive their source: once a complete manifest existed for (key, ETag, configHash),
    no later event for that upload turns it into a failure; a failed `SourceMissing` manifest is
    acceptable only for an upload that never had a complete result (since the operator last
    deleted the manifest: after that, nothing tells a late event the upload was processed);
(4) while any key of the imageId holds an upload, a manifest exists (after an operator deleted
    it and reprocessed, too);
(5) an image its owner deleted stays deleted: no upload the deletion covered, no comeback, no
    render forgotten by a run, and after a sweep nothing but the tombstone (`model_deleted`);
and every quarantine has a reason the example gave it, and every message was acknowledged.
(1)-(4) are checked after a final sweep (`model_sweep.final_sweep`), which must keep every
listed variant.

Each breach names its invariant and, where it matches one, the bug class of issue 19 it shows
(1: a late event after the source is gone destroys a complete result; 2: a failed manifest of
an older upload replaces a newer upload's result; 3: the sweep deletes a render a manifest
lists). `model_log.ManifestLog` knows what was ever complete.
"""

from __future__ import annotations

import hashlib

from shared.manifest import Manifest
from tests.integration import model_deleted
from tests.integration.conftest import Stack
from tests.integration.interleave import current_etag, dlq_reasons
from tests.integration.model_log import ManifestLog
from tests.integration.model_sweep import final_sweep
from tests.integration.model_world import World


def violations(stack: Stack, world: World) -> list[str]:
    """Every breach of (1)-(5) in the example's end state, each naming its invariant and bug class."""
    now = {key: current_etag(stack, key) for key in world.keys}
    raw = stack.manifest(world.image_id)
    problems = [f"liveness: never acknowledged after {world.scheduler.max_attempts} deliveries: "
                f"{m['MessageId']}" for m in world.scheduler.unacknowledged]  # fmt: skip
    problems += _quarantines(stack, world)
    stored = Manifest.model_validate(raw) if raw is not None else None
    problems += model_deleted.before_the_sweep(stack, world, stored)
    finally_swept = final_sweep(stack)
    problems += model_deleted.after_the_sweep(stack, world, stored)
    if raw is None:
        if any(now.values()):
            problems.append(f"invariant 4: no manifest, yet the keys hold uploads {now}")
        return problems
    manifest = Manifest.model_validate(raw)
    swept = {key for sweep in world.sweeps for key in sweep.deleted} | finally_swept
    return (
        problems
        + _stored(stack, manifest, swept)
        + _current(manifest, now, world)
        + _outlives(manifest, world.log)
    )


def _stored(stack: Stack, manifest: Manifest, swept: set[str]) -> list[str]:
    if manifest.status != "complete":
        return []
    missing, problems = [], []
    for variant in manifest.variants:
        try:
            data = stack.read_output(variant.key)
        except stack.s3.exceptions.NoSuchKey:
            missing.append(variant.key)
            continue
        if hashlib.sha256(data).hexdigest() != variant.sha256:
            problems.append(f"invariant 1: {variant.key} does not hash to its listed sha256")
    if missing:
        who = "bug class 3: `imgpipe sweep` deleted them" if set(missing) <= swept else "removed by a worker"
        problems.append(f"invariant 1 ({who}): {len(missing)} of the {len(manifest.variants)} variants the "
                        f"manifest ({_name(manifest)}) lists are missing: {', '.join(missing)}")  # fmt: skip
    return problems


def _current(manifest: Manifest, now: dict[str, str | None], world: World) -> list[str]:
    holds = now.get(manifest.source.key)
    if holds is None:
        return []  # the key's upload is gone: (3) says what may stand
    order = {(u.key, u.etag): u.order for u in world.uploads}
    described = order.get((manifest.source.key, manifest.source.etag or ""), -1)
    if manifest.source.etag != holds:
        if manifest.status == "failed" and described < order.get((manifest.source.key, holds), -1):
            over = _replaced(manifest, world.log)
            return [f"invariant 2 (bug class 2): a failed manifest of an older upload ({_name(manifest)}) "
                    f"stands over the key's current upload {holds[:8]}{over}"]  # fmt: skip
        return [f"invariant 2: the manifest describes {_name(manifest)}, the key holds {holds[:8]}"]
    good = {(u.key, u.etag): u.good for u in world.uploads}[(manifest.source.key, holds)]
    if manifest.status != ("complete" if good else "failed"):
        return [f"invariant 2: the current upload is {'good' if good else 'corrupt'}, its manifest "
                f"is {_name(manifest)}"]  # fmt: skip
    return []


def _outlives(manifest: Manifest, log: ManifestLog) -> list[str]:
    if manifest.status != "failed" or not log.ever_complete(manifest):
        return []
    if manifest.error is not None and manifest.error.type == "SourceMissing":
        return [f"invariant 3 (bug class 1): the manifest is {_name(manifest)}, an upload that had a "
                f"complete result: an event after its source was gone turned it into a failure"
                f"{_replaced(manifest, log)}"]  # fmt: skip
    return [f"invariant 3: the manifest is {_name(manifest)}, an upload that had a complete result"]


def _replaced(manifest: Manifest, log: ManifestLog) -> str:
    before = log.replaced_by(manifest)
    return f"; it was written over {_name(before)}" if before is not None else ""


def _quarantines(stack: Stack, world: World) -> list[str]:
    corrupt = {u.key for u in world.uploads if not u.good}
    allowed = {(k, "CorruptImage") for k in corrupt} | {(k, "SourceMissing") for k in world.deleted}
    allowed |= {(k, "ImageIdConflict") for k in world.keys}
    if model_deleted.newer_uploads_after_a_deletion(world):
        # A late event of an upload the owner deleted, once a new upload's result stands over
        # the tombstone: reported as for any source deleted before a newer upload's result.
        allowed |= {(k, "SourceMissing") for k in world.keys}
    return [
        f"quarantined without a cause in this example: {q}" for q in dlq_reasons(stack) if q not in allowed
    ]


def _name(manifest: Manifest) -> str:
    """`failed (SourceMissing: ...) for uploads/u1/p3.jpg@0a1b2c3d`, short enough for a message."""
    what: str = manifest.status
    if manifest.error is not None:
        what += f" ({manifest.error.type}: {manifest.error.message[:80]})"
    return f"{what} for {manifest.source.key}@{(manifest.source.etag or '')[:8]}"
