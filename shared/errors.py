"""One error taxonomy for the whole pipeline.

Every failure a record can meet is either worth retrying (`RetryableError`) or never going to
succeed (`PermanentError`); the worker decides between a retry and the dead-letter queue from
the class alone, so handlers raise and never swallow.
"""

from __future__ import annotations


class ImgpipeError(Exception):
    """Base of every error imgpipe raises on purpose."""

    @property
    def error_type(self) -> str:
        """The name recorded in manifests, metrics and DLQ attributes."""
        return type(self).__name__


class RetryableError(ImgpipeError):
    """A transient failure (throttling, 5xx, timeouts): try again later."""


class PermanentError(ImgpipeError):
    """A failure no retry can fix: quarantine the record with this reason."""


class CorruptImage(PermanentError):
    """The bytes claim a supported format but cannot be decoded (empty, truncated, damaged)."""


class UnsupportedFormat(PermanentError):
    """The content is not one of the allowed image formats, whatever its name says."""


class ImageTooLarge(PermanentError):
    """The file or its header exceeds a configured limit (bytes, pixels, frames)."""


class InvalidKey(PermanentError):
    """The object key does not follow `uploads/{userId}/{imageId}.{ext}`."""


class ImageIdConflict(InvalidKey):
    """The imageId already belongs to another upload key; its results must not be overwritten."""


class SourceMissing(PermanentError):
    """The source object is gone or was replaced by a newer upload."""


class ConfigError(ImgpipeError):
    """The deployment is misconfigured; raised once at start-up, naming the variable."""


class MalformedEvent(PermanentError):
    """The SQS message is not an S3 notification (raw or inside an SNS envelope)."""


class Superseded(ImgpipeError):
    """The event is for an upload that has since been replaced; acknowledged without work."""
