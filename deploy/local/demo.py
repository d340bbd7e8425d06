"""`imgpipe demo`: the whole pipeline on one machine, from upload to contact sheet, then gone.

Starts the local stack, signs in as the demo user and goes through the client API exactly as an
app does: asks for signed forms in one batch call, POSTs each photo straight to S3, follows
each image through `GET /v1/images/{id}` until it is complete or failed (with the reason a
person can act on), downloads the variants through the short-lived URLs the API hands out,
writes `out/index.html`, and stops every process it started, whatever happens in between.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from deploy.client import ApiError, ImgpipeApi, UploadRefused, content_type_of
from deploy.local import contact_sheet
from deploy.local.cognito import sign_in
from deploy.local.stack import LocalStack
from deploy.ops.status import QueueDepth, queue_depth

DEMO_USER = "demo"
WAIT_S = 120.0
SENDERS = 8  # transfers to S3 at once, as a browser uploader keeps a few going
BATCH = 100  # the API's batch call takes up to 100 files
FINAL = {"complete", "failed", "deleted"}


@dataclass(frozen=True)
class DemoResult:
    """What the demo saw, for the summary table and the tests."""

    entries: list[contact_sheet.Entry]
    page: Path
    endpoint: str
    elapsed_s: float
    queue: QueueDepth
    dlq: QueueDepth
    api_url: str = ""


class DemoError(RuntimeError):
    """The demo could not complete (a worker died, or results never came)."""


@dataclass
class _Upload:
    path: Path
    image_id: str
    sent_at: float = 0.0
    image: dict[str, Any] | None = None
    waited_s: float | None = None
    reason: str | None = None


def run(
    files: list[Path],
    out: Path,
    on_upload: Callable[[Any], None] = lambda _: None,
    on_result: Callable[[int], None] = lambda _: None,
    workers: int | None = None,
) -> DemoResult:
    """Upload `files` through the local stack's client API and collect every result into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    stack = LocalStack(log_dir=out / "logs", workers=workers or LocalStack.workers)
    with stack:
        if stack.front_door is None:
            raise DemoError("the local stack started without its API front door")
        tokens = sign_in(stack.session.client("cognito-idp"), stack.user_pool, DEMO_USER)
        api = ImgpipeApi(stack.front_door.url, lambda: tokens.access_token)
        started = time.monotonic()
        uploads, refused = _request_forms(api, files)
        _send_all(api, uploads, on_upload)
        for path, _ in refused:  # handled too: refused before any byte was sent
            on_upload(path)
        _follow(stack, api, [u for u in uploads if u.reason is None], on_result)
        elapsed = time.monotonic() - started
        entries = [_download(upload, out) for upload in uploads]
        entries += [
            contact_sheet.Entry(path.name, "-", None, f"refused by the API: {why}") for path, why in refused
        ]
        sqs = stack.session.client("sqs")
        queue = _settled(sqs, stack.topology.queue_url)
        dlq = queue_depth(sqs, stack.topology.dlq_url)
    order = {path.name: n for n, path in enumerate(files)}
    entries.sort(key=lambda e: order.get(e.filename, len(order)))
    page = contact_sheet.write(out, entries, elapsed)
    return DemoResult(entries, page, stack.server.endpoint, elapsed, queue, dlq, stack.front_door.url)


def _request_forms(api: ImgpipeApi, files: list[Path]) -> tuple[list[_Upload], list[tuple[Path, str]]]:
    """Signed forms for every file, up to 100 a call; files the API refuses come back with its reason."""
    uploads: list[_Upload] = []
    refused: list[tuple[Path, str]] = []
    for start in range(0, len(files), BATCH):
        chunk = files[start : start + BATCH]
        asked = [
            {"filename": p.name, "contentType": content_type_of(p), "size": p.stat().st_size} for p in chunk
        ]
        for item in api.create_uploads(asked)["items"]:
            path = chunk[item["index"]]
            if "upload" in item:
                upload = _Upload(path, item["upload"]["imageId"])
                upload.image = {"form": item["upload"]}
                uploads.append(upload)
            else:
                refused.append((path, item["problem"]["detail"]))
    return uploads, refused


def _send_all(api: ImgpipeApi, uploads: list[_Upload], on_upload: Callable[[Any], None]) -> None:
    def send(upload: _Upload) -> None:
        assert upload.image is not None  # holds the signed form until the image's status replaces it
        try:
            upload.sent_at = time.monotonic()
            api.send(upload.image["form"], upload.path.read_bytes(), upload.path.name)
        except (UploadRefused, requests.RequestException, OSError) as exc:
            upload.reason = f"upload failed: {exc}"
        upload.image = None
        on_upload(upload.path)

    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, uploads))


def _follow(
    stack: LocalStack, api: ImgpipeApi, uploads: list[_Upload], on_result: Callable[[int], None]
) -> None:
    """Poll each image until its status is final, as an app follows its uploads."""
    deadline = time.monotonic() + WAIT_S
    pending = list(uploads)
    while pending:
        if not stack.alive():
            raise DemoError(stack.failure())
        if time.monotonic() > deadline:
            names = ", ".join(u.path.name for u in pending)
            raise DemoError(f"no result after {WAIT_S:.0f} s for: {names}")
        for upload in list(pending):
            try:
                image = api.image(upload.image_id)
            except ApiError as exc:
                raise DemoError(f"{upload.path.name}: the API answered {exc}") from exc
            if image["status"] in FINAL:
                upload.image, upload.waited_s = image, time.monotonic() - upload.sent_at
                pending.remove(upload)
                on_result(1)
        time.sleep(0.25)


def _download(upload: _Upload, out: Path) -> contact_sheet.Entry:
    """The image's variants saved under `out/<imageId>/` through the URLs the API gave."""
    image = upload.image
    files: dict[str, str] = {}
    if image is not None and image["status"] == "complete":
        folder = out / upload.image_id
        folder.mkdir(parents=True, exist_ok=True)
        for variant in image["variants"]:
            name = Path(urlsplit(variant["url"]).path).name
            response = requests.get(variant["url"], timeout=30)
            response.raise_for_status()
            (folder / name).write_bytes(response.content)
            files[variant["name"]] = name
        (folder / "image.json").write_text(json.dumps(image, indent=2), encoding="utf-8")
    return contact_sheet.Entry(
        upload.path.name, upload.image_id, image, upload.reason, files, upload.waited_s
    )


def _settled(sqs: Any, queue_url: str) -> QueueDepth:
    # Deletes land a moment after the last manifest is written; give them a few seconds.
    depth = queue_depth(sqs, queue_url)
    for _ in range(20):
        if depth.visible == depth.in_flight == 0:
            break
        time.sleep(0.25)
        depth = queue_depth(sqs, queue_url)
    return depth
