"""An HTTP client of the client API (`worker.api`), as a browser or phone app would use it.

It takes a `requests.Session` so locust can hand in its own (every call then lands in locust's
statistics under a route name, not one line per imageId) and the demo a plain one. Errors come
back as `ApiError` carrying the RFC 9457 problem the API answered; a refused transfer to S3 as
`UploadRefused` with S3's own error code (e.g. `EntityTooLarge`, `AccessDenied`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from shared.uploads import CONTENT_TYPES

TIMEOUT_S = (3.05, 30.0)  # connect, read: a stopped stack fails in about three seconds
_S3_CODE = re.compile(r"<Code>([^<]+)</Code>")


class ApiError(RuntimeError):
    """The API answered with a problem (RFC 9457): `status`, `type` and `detail` say which."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type = str(problem.get("type", ""))
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', problem)}".strip())


class UploadRefused(RuntimeError):
    """S3 refused the signed POST: `code` is S3's error code, `status` its HTTP status."""

    def __init__(self, status: int, code: str, body: str) -> None:
        self.status, self.code = status, code
        super().__init__(f"S3 refused the upload: {status} {code}")
        self.body = body


def content_type_of(path: Path) -> str:
    """The content type a browser declares for `path`: from its suffix (the worker still decides
    by the bytes, so a text file named .jpg is declared image/jpeg and refused by the pipeline)."""
    suffix = path.suffix.lower().lstrip(".")
    for content_type, suffixes in CONTENT_TYPES.items():
        if suffix in suffixes:
            return content_type
    return "application/octet-stream"


class ImgpipeApi:
    """The client API at `base_url` for the user whose token `token()` returns."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        session = session or requests.Session()
        # typed loosely: locust's session takes `name=` besides what requests takes
        self._request: Callable[..., requests.Response] = session.request
        self._named = "name" in inspect.signature(session.request).parameters
        self._timeout = timeout

    def create_upload(self, filename: str, content_type: str, size: int) -> dict[str, Any]:
        """`POST /v1/uploads`: the signed form for one file (`imageId`, `key`, `upload`, `expiresAt`)."""
        body = {"filename": filename, "contentType": content_type, "size": size}
        return self._call("POST", "/v1/uploads", json=body)

    def create_uploads(self, files: list[dict[str, Any]]) -> dict[str, Any]:
        """`POST /v1/uploads/batch`: one outcome per file, in order (`items`, `created`, `refused`)."""
        return self._call("POST", "/v1/uploads/batch", json={"files": files}, name="/v1/uploads/batch")

    def image(self, image_id: str) -> dict[str, Any]:
        """`GET /v1/images/{imageId}`: its status, and its variants once complete."""
        return self._call("GET", f"/v1/images/{image_id}", name="/v1/images/{imageId}")

    def images(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        """`GET /v1/images`: one page of the caller's images, newest first."""
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        return self._call("GET", "/v1/images", params=params)

    def all_images(self, page: int = 100) -> Iterator[dict[str, Any]]:
        """Every image of the caller, newest first, page by page."""
        cursor: str | None = None
        while True:
            listing = self.images(page, cursor)
            yield from listing["images"]
            cursor = listing.get("nextCursor")
            if not cursor:
                return

    def delete(self, image_id: str) -> None:
        """`DELETE /v1/images/{imageId}`: the upload, its variants and its manifest go."""
        self._call("DELETE", f"/v1/images/{image_id}", name="/v1/images/{imageId}")

    def send(self, created: dict[str, Any], data: bytes, filename: str) -> None:
        """POST `data` to S3 with the signed form of `created` (from `create_upload`)."""
        form = created["upload"]
        response = self._request(
            "POST",
            form["url"],
            data=form["fields"],
            files={"file": (filename, data, form["fields"].get("Content-Type"))},
            timeout=self._timeout,
            **self._name("S3 POST (signed form)"),
        )
        if not 200 <= response.status_code < 300:
            match = _S3_CODE.search(response.text or "")
            code = match.group(1) if match else _no_answer(response)
            raise UploadRefused(response.status_code, code, response.text or "")

    def _call(self, method: str, path: str, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token()}"}
        response = self._request(
            method, self.base_url + path, headers=headers, timeout=self._timeout,
            **self._name(name or path), **kwargs,
        )  # fmt: skip
        if not 200 <= response.status_code < 400:
            raise ApiError(response.status_code, _problem(response))
        body = response.json() if response.content else {}
        return body if isinstance(body, dict) else {"body": body}

    def _name(self, name: str) -> dict[str, str]:
        # locust groups its statistics by `name`: one line per route, not one per imageId
        return {"name": name} if self._named else {}


def _no_answer(response: requests.Response) -> str:
    # locust's session answers a connection failure with status 0 and the exception as `error`
    # instead of raising it as requests does: no answer must never read as a success
    error = getattr(response, "error", None)
    return f"no answer ({type(error).__name__}: {error})" if error is not None else ""


def _problem(response: requests.Response) -> dict[str, Any]:
    if response.status_code == 0:
        return {"title": "no answer", "detail": _no_answer(response) or "the connection failed"}
    try:
        body = response.json()
    except ValueError:
        return {"title": response.reason, "detail": response.text[:200]}
    return body if isinstance(body, dict) else {"detail": body}
