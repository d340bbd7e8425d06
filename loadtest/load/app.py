"""What one load-test client does with a file, as an app does: ask the API for a signed form
(`POST /v1/uploads`, or `POST /v1/uploads/batch` for a bulk uploader's chunk of files), send
each file to S3 with its form, then hand it to its `Follower`. Its e2e starts at the ask.

A file the API refuses, or S3 does not take, never reached S3: it is not tracked (locust's
statistics and failures CSV hold the failed call), only counted in `not_sent`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.client import ApiError, ImgpipeApi, UploadRefused, content_type_of
from loadtest.load.follow import Follower
from loadtest.load.tracker import Tracker, Upload

File = tuple[str, bytes]  # a payload's name and bytes


class Client:
    """One signed-in user sending files and following them."""

    def __init__(
        self,
        api: ImgpipeApi,
        tracker: Tracker,
        follower: Follower,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api, self.tracker, self.follower, self.clock = api, tracker, follower, clock
        self.not_sent = 0

    def upload(self, file: File) -> None:
        """`POST /v1/uploads` for one file, then send it."""
        name, data = file
        requested = self.clock()
        try:
            created = self.api.create_upload(name, content_type_of(Path(name)), len(data))
        except ApiError:
            self.not_sent += 1
            return
        self._send(created, file, requested)

    def upload_batch(self, files: list[File]) -> None:
        """`POST /v1/uploads/batch` for up to 100 files, then send each that got its form, in order."""
        requested = self.clock()
        asked = [{"filename": n, "contentType": content_type_of(Path(n)), "size": len(d)} for n, d in files]
        try:
            result = self.api.create_uploads(asked)
        except ApiError:
            self.not_sent += len(files)
            return
        for item in result.get("items", []):
            if "upload" in item:
                self._send(item["upload"], files[item["index"]], requested)
        self.not_sent += len(files) - int(result.get("created", 0))

    def _send(self, created: dict[str, Any], file: File, requested: float) -> None:
        name, data = file
        started = self.clock()
        try:
            self.api.send(created, data, name)
        except UploadRefused:
            self.not_sent += 1
            return
        sent = self.clock()
        upload = Upload(str(created["imageId"]), str(created["key"]), name, started, (sent - started) * 1000,
                        requested=requested)  # fmt: skip
        self.tracker.track(upload)
        self.follower.follow(upload, sent)
