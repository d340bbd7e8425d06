"""The permission S3 checks before it answers "no such key": `s3:ListBucket`, key as `s3:prefix`.

From the S3 API Reference (GetObject, HeadObject): when the object asked for does not exist, S3
answers 404 only to a caller that may also `s3:ListBucket` the bucket, and 403 AccessDenied to
anyone else, so as not to tell them what the bucket holds. S3 evaluates that ListBucket with the
requested key as `s3:prefix` (Ceph's RGW copies this, ceph/ceph#68577, "to match aws behavior"),
so a role whose ListBucket is limited to `metadata/*` gets its 404 for `metadata/...` keys only.

The moto server answers 404 to everyone: code that reads "not found" as "pending" or "nothing
to do" passes there and would meet AccessDenied on AWS. `answering()` records each 404 to a GET
or HEAD, as it comes back (`after-call`), as the ListBucket request S3 makes of it, so that
request is held against the policies like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import pytest
from botocore import handlers

from tests.policy.capture import Recorder, Wire

READS = {"GetObject", "HeadObject"}


@dataclass
class Answers:
    """The ListBucket checks behind every 404 a recorded client was given."""

    recorder: Recorder
    checks: list[Wire] = field(default_factory=list)

    def of(self, client: str) -> list[Wire]:
        """The checks behind `client`'s 404s (their client names the read that was answered)."""
        return [w for w in self.checks if w.client.startswith(f"{client}: ")]

    def answered(self, http_response: Any, model: Any, **_: Any) -> None:
        """`after-call`: a 404 to a read is recorded as S3's ListBucket of that key."""
        client = self.recorder.client
        if client is None or model.name not in READS or http_response.status_code != 404:
            return
        parts = urlsplit(http_response.url)
        bucket, key = unquote(parts.path).lstrip("/").split("/", 1)  # path-style, as wire.py reads
        query = urlencode({"list-type": "2", "prefix": key})
        url = urlunsplit((parts.scheme, parts.netloc, f"/{bucket}", query, ""))
        self.checks.append(Wire(f"{client}: 404 to {model.name} {key}", "s3.ListObjectsV2", "GET", url, {}))


@contextmanager
def answering(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> Iterator[Answers]:
    """Record the checks behind 404s on every botocore session created from now on, labelled
    with `recorder`'s current client."""
    answers = Answers(recorder)
    monkeypatch.setattr(
        handlers, "BUILTIN_HANDLERS", [*handlers.BUILTIN_HANDLERS, ("after-call.s3", answers.answered)]
    )
    yield answers
