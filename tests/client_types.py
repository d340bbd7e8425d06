"""Base classes that make a test's in-memory AWS client the boto3 client type it stands in for.

To the type checker `SqsBase` is types-boto3's `SQSClient` and `S3Base` its `S3Client`: a fake
built on one can be passed wherever the code takes that client, and mypy holds every method the
fake defines to the real call's signature and answer. At run time both are `object`, so a fake
has only what it defines, and a call it does not fake fails loudly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client as S3Base
    from types_boto3_s3.type_defs import ResponseMetadataTypeDef
    from types_boto3_sqs import SQSClient as SqsBase
else:
    S3Base = SqsBase = object

__all__ = ["S3Base", "SqsBase", "answered"]


def answered() -> ResponseMetadataTypeDef:
    """The `ResponseMetadata` boto3 adds to every answer, as a fake gives it."""
    return {"RequestId": "fake", "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}
