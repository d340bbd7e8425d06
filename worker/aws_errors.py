"""Translating AWS and network failures into the error taxonomy, for `worker.storage`.

Above storage, a failure is `RetryableError`, `SourceMissing` (the object is gone) or
`Superseded` (it changed since it was read), never a botocore `ClientError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import ClientError as HttpClientError
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import ImgpipeError, RetryableError, SourceMissing, Superseded

_MISSING = {"NoSuchKey", "404", "NotFound"}
_PRECONDITION = {"PreconditionFailed", "412"}


@contextmanager
def aws_errors(action: str, s3_object: bool = False) -> Iterator[None]:
    """Translate AWS and network failures of `action` into the error taxonomy.

    Only an S3 object request (`s3_object`) can mean "the object is gone" (404) or "it changed"
    (412); the same codes from SQS or SNS (a deleted queue or topic) are configuration problems.
    """
    try:
        yield
    except ImgpipeError:
        raise
    except ClientError as exc:
        raise classify(exc, action, s3_object) from exc
    except (BotoCoreError, HttpClientError, TimeoutError, ConnectionError) as exc:
        raise RetryableError(f"{action}: {type(exc).__name__}: {exc}") from exc


def classify(exc: ClientError, action: str, s3_object: bool = True) -> ImgpipeError:
    """What a `ClientError` means for the record: gone, superseded, or worth retrying."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = f"{action}: {code} (HTTP {status}): {error.get('Message', '')}".rstrip(": ")
    if s3_object and code in _MISSING:
        return SourceMissing(message)
    if s3_object and code in _PRECONDITION:
        return Superseded(message)
    # Throttling, 5xx and also AccessDenied: a permission fix must not cost the upload, so it is
    # retried and, if it persists, reaches the DLQ through the queue's own redrive policy.
    return RetryableError(message)
