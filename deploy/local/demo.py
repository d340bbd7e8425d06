"""`imgpipe demo`: the whole pipeline on one machine, from upload to contact sheet, then gone.

Starts the local stack, uploads the photos, waits until every upload has a manifest (complete,
or failed with its reason), downloads the results to `out/`, writes `out/index.html`, and stops
every process it started, whatever happens in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.local import contact_sheet
from deploy.local.stack import LocalStack
from deploy.ops.status import QueueDepth, queue_depth
from deploy.ops.uploads import Skipped, Uploaded, read_manifest, upload_all
from shared.manifest import Manifest

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sqs import SQSClient

DEMO_USER = "demo"
WAIT_S = 120.0


@dataclass(frozen=True)
class DemoResult:
    """What the demo saw, for the summary table and the tests."""

    entries: list[contact_sheet.Entry]
    page: Path
    endpoint: str
    elapsed_s: float
    queue: QueueDepth
    dlq: QueueDepth


class DemoError(RuntimeError):
    """The demo could not complete (a worker died, or results never came)."""


def run(
    files: list[Path],
    out: Path,
    on_upload: Callable[[Uploaded | Skipped], None] = lambda _: None,
    on_result: Callable[[int], None] = lambda _: None,
    workers: int | None = None,
) -> DemoResult:
    """Upload `files` through the local stack and collect every result into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(log_dir=out / "logs", workers=workers or LocalStack.workers)
    with stack:
        started = time.monotonic()
        s3, sqs = stack.session.client("s3"), stack.session.client("sqs")
        done = upload_all(s3, stack.topology.input_bucket, files, DEMO_USER, 8, on_upload)
        manifests = _wait_for_results(stack, s3, done.uploaded, on_result)
        elapsed = time.monotonic() - started
        entries = [
            _download(s3, stack.topology.output_bucket, u, manifests.get(u.image_id), out)
            for u in done.uploaded
        ] + [contact_sheet.Entry(s.path.name, "-", None, f"not uploaded: {s.reason}") for s in done.skipped]
        queue = _settled(sqs, stack.topology.queue_url)
        dlq = queue_depth(sqs, stack.topology.dlq_url)
    page = contact_sheet.write(out, entries, elapsed)
    return DemoResult(entries, page, stack.server.endpoint, elapsed, queue, dlq)


def _wait_for_results(
    stack: LocalStack, s3: S3Client, uploads: list[Uploaded], on_result: Callable[[int], None]
) -> dict[str, Manifest]:
    bucket = stack.topology.output_bucket
    found: dict[str, Manifest] = {}
    deadline = time.monotonic() + WAIT_S
    while len(found) < len(uploads):
        if not stack.alive():
            raise DemoError(stack.failure())
        if time.monotonic() > deadline:
            missing = [u.path.name for u in uploads if u.image_id not in found]
            raise DemoError(f"no result after {WAIT_S:.0f} s for: {', '.join(missing)}")
        for upload in uploads:
            if upload.image_id not in found and (manifest := read_manifest(s3, bucket, upload.image_id)):
                found[upload.image_id] = manifest
                on_result(1)
        time.sleep(0.25)
    return found


def _download(
    s3: S3Client, bucket: str, upload: Uploaded, manifest: Manifest | None, out: Path
) -> contact_sheet.Entry:
    if manifest is not None and manifest.status == "complete":
        folder = out / upload.image_id
        folder.mkdir(parents=True, exist_ok=True)
        for variant in manifest.variants:
            s3.download_file(bucket, variant.key, str(folder / Path(variant.key).name))
        (folder / "processing-info.json").write_bytes(manifest.to_json())
    return contact_sheet.Entry(upload.path.name, upload.image_id, manifest)


def _settled(sqs: SQSClient, queue_url: str) -> QueueDepth:
    # Deletes land a moment after the last manifest is written; give them a few seconds.
    depth = queue_depth(sqs, queue_url)
    for _ in range(20):
        if depth.visible == depth.in_flight == 0:
            break
        time.sleep(0.25)
        depth = queue_depth(sqs, queue_url)
    return depth
