"""Every manifest write of one image that S3 accepted, and the operator's deletes between them.

The property test's record of what was ever complete: invariant (3) holds a late event to a
complete result that existed, unless the operator deleted that manifest since, or its owner
deleted the image (then nothing tells a late event that the upload was ever processed). Hooks
on every instance's S3 client (and the deletion's, `model_deletion`) see each `PutObject` of
the manifest key and its answer; a write refused (412, 503) or never sent (a crash) is not
recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.keys import manifest_key
from shared.manifest import Manifest
from tests.integration.interleave import Instance

_BODY = "imgpipe-test-manifest"


@dataclass(eq=False)  # hashable by identity: botocore keeps handlers in dicts
class ManifestLog:
    """The manifests written, in order; None where the operator deleted the manifest."""

    image_id: str
    written: list[Manifest | None] = field(default_factory=list)

    async def register(self, instance: Instance) -> None:
        """Watch `instance`'s manifest writes (register before any hook that may crash a run)."""
        await instance.hook("s3", "provide-client-params.s3.PutObject", self._params)
        await instance.hook("s3", "after-call.s3.PutObject", self._after_call)

    def operator_deleted(self) -> None:
        """The operator deleted the manifest (to force a reprocess)."""
        self.written.append(None)

    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == manifest_key(self.image_id):
            context[_BODY] = params["Body"]

    def _after_call(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if _BODY in context and http_response.status_code == 200:
            self.written.append(Manifest.model_validate_json(context[_BODY]))

    def ever_complete(self, manifest: Manifest) -> bool:
        """True when a complete result for `manifest`'s key, ETag and configuration was committed
        since the operator last deleted the manifest."""
        since = self.written[_after_last_delete(self.written) :]
        return any(m is not None and m.status == "complete" and same_upload(m, manifest) for m in since)

    def replaced_by(self, manifest: Manifest) -> Manifest | None:
        """The manifest written just before `manifest`: what its commit replaced (None when there
        was none, or the operator had deleted it)."""
        runs = [m.pipeline.render_id if m is not None else None for m in self.written]
        if manifest.pipeline.render_id not in runs:
            return None
        at = len(runs) - 1 - runs[::-1].index(manifest.pipeline.render_id)
        return self.written[at - 1] if at > 0 else None


def same_upload(a: Manifest, b: Manifest) -> bool:
    """Both manifests are for the same key, ETag and variant configuration."""
    return (a.source.key, a.source.etag, a.pipeline.config_hash) == (
        b.source.key,
        b.source.etag,
        b.pipeline.config_hash,
    )


def _after_last_delete(written: list[Manifest | None]) -> int:
    # The operator's delete (None) and the owner's deletion (a tombstone) alike: after either,
    # nothing tells a late event that its upload was ever processed.
    deletes = [at for at, m in enumerate(written) if m is None or m.deleted]
    return deletes[-1] + 1 if deletes else 0
