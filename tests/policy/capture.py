"""The HTTP requests our own clients send, captured from botocore as they leave.

`recording()` adds two hooks to `botocore.handlers.BUILTIN_HANDLERS`, the list every botocore
session (boto3's, and aiobotocore's for the worker) registers when it is created, so every client
the code under test builds itself carries them, without reaching into how it builds them:
- `before-send`: the finished request (URL, headers, body) just before it goes on the wire;
- `before-sign` of a pre-signed URL: the headers its signature covers, with their values, which
  is what a browser must send for S3 to accept the URL.
Each request is labelled with the `client` the test says is running (`recorder.client = ...`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore import handlers


@dataclass(frozen=True)
class Wire:
    """One request as it leaves botocore (`presigned`: signed into a URL, not sent)."""

    client: str
    operation: str  # "s3.PutObject"
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""
    presigned: bool = False


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _body(body: Any) -> bytes:
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return body.encode() if isinstance(body, str) else b""  # streamed object bodies are not needed


@dataclass
class Recorder:
    """Every request captured while a client label is set."""

    client: str | None = None
    wires: list[Wire] = field(default_factory=list)

    def of(self, client: str) -> list[Wire]:
        """The requests `client` made."""
        return [w for w in self.wires if w.client == client]

    def sent(self, request: Any, event_name: str, **_: Any) -> None:
        """`before-send`: record and let it go (returning None sends it)."""
        self._record(request, event_name, presigned=False)

    def signed(self, request: Any, event_name: str, **_: Any) -> None:
        """`before-sign`: record only pre-signed URLs (sent requests are seen at before-send)."""
        if request.context.get("is_presign_request"):
            self._record(request, event_name, presigned=True)

    def _record(self, request: Any, event_name: str, presigned: bool) -> None:
        if self.client is None:
            return
        service, operation = event_name.split(".")[1:3]
        headers = {_text(k).lower(): _text(v) for k, v in request.headers.items()}
        body = b"" if presigned else _body(request.body)
        self.wires.append(
            Wire(self.client, f"{service}.{operation}", request.method, request.url, headers, body, presigned)
        )


@contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """A recorder on every botocore session created from now on (clients created earlier, such
    as a test harness's own, are not recorded)."""
    recorder = Recorder()
    extra = [("before-send", recorder.sent), ("before-sign", recorder.signed)]
    monkeypatch.setattr(handlers, "BUILTIN_HANDLERS", [*handlers.BUILTIN_HANDLERS, *extra])
    yield recorder
