"""One boto3 session for everything on the local stack's moto server: a client for each service the
stack provisions, all at the server's endpoint, as AWS_ENDPOINT_URL would make them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

import boto3

from deploy.local.motoserver import MotoServer

if TYPE_CHECKING:
    from types_boto3_cognito_idp import CognitoIdentityProviderClient
    from types_boto3_s3 import S3Client
    from types_boto3_sns import SNSClient
    from types_boto3_sqs import SQSClient


class EndpointSession:
    """A boto3 session whose clients all use one endpoint, as AWS_ENDPOINT_URL would make them."""

    def __init__(self, server: MotoServer) -> None:
        env = server.environment()
        self._session = boto3.Session(
            region_name=server.region,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        self._endpoint = server.endpoint
        self.region_name = server.region

    @overload
    def client(self, name: Literal["s3"]) -> S3Client: ...
    @overload
    def client(self, name: Literal["sqs"]) -> SQSClient: ...
    @overload
    def client(self, name: Literal["sns"]) -> SNSClient: ...
    @overload
    def client(self, name: Literal["cognito-idp"]) -> CognitoIdentityProviderClient: ...
    def client(
        self, name: Literal["s3", "sqs", "sns", "cognito-idp"]
    ) -> S3Client | SQSClient | SNSClient | CognitoIdentityProviderClient:
        """A client for service `name` on the server (the services the stack provisions)."""
        return self._session.client(name, endpoint_url=self._endpoint)
