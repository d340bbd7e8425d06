"""An S3 bucket answered inside botocore: a `before-send` hook that records each request and
replies as S3 would (PutObject stores, HeadObject finds), so nothing leaves the process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


def sent_headers(request: AWSPreparedRequest) -> dict[str, str]:
    """The request's headers as text, names in lower case."""
    return {
        name.lower(): value.decode() if isinstance(value, bytes) else str(value)
        for name, value in request.headers.items()
    }


class _Body:
    def __init__(self, data: bytes = b"") -> None:
        self._data = data

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._data


@dataclass
class WireBucket:
    """The objects PUT through the hooked client (key -> headers sent), and every request."""

    objects: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[AWSPreparedRequest] = field(default_factory=list)
    head_status: int | None = None  # answer every HEAD with this status instead (e.g. 403)

    def attach(self, s3: S3Client) -> S3Client:
        """Answer `s3`'s requests from here from now on; returns `s3`."""
        # botocore sends no request a before-send handler answers; its stubs type every handler as
        # returning None
        s3.meta.events.register("before-send.s3", self._answer)  # type: ignore[arg-type]
        return s3

    def puts(self) -> list[dict[str, str]]:
        """The headers of every PUT sent, in order."""
        return [sent_headers(r) for r in self.requests if r.method == "PUT"]

    def _answer(self, request: AWSPreparedRequest, **_: object) -> AWSResponse:
        self.requests.append(request)
        key = unquote(urlsplit(request.url).path).split("/", 2)[2]
        headers = sent_headers(request)
        if request.method == "PUT":
            self.objects[key] = headers
            return AWSResponse(request.url, 200, HTTPHeaders.from_dict({"ETag": '"0"'}), _Body())
        if request.method == "HEAD":
            if self.head_status is not None or key not in self.objects:
                return AWSResponse(request.url, self.head_status or 404, HTTPHeaders(), _Body())
            meta = {k: v for k, v in self.objects[key].items() if k.startswith("x-amz-meta-")}
            found = HTTPHeaders.from_dict({"Content-Length": "1", **meta})
            return AWSResponse(request.url, 200, found, _Body())
        raise AssertionError(f"unexpected {request.method} {request.url}")
