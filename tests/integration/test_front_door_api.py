"""The real client API (`worker.api.handler`) behind the front door, each in the process the local
stack gives it: the door's routes are the API's, a signed-in user gets a form for their own prefix
that S3 takes, another user's image is not found (nor deleted by them), and a request without a
token is the gateway's 401, not the API's problem."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from deploy.client import ApiError, ImgpipeApi
from deploy.local import samples
from deploy.local.cognito import UserPool, provision_user_pool, sign_in
from deploy.local.endpoint import EndpointSession
from deploy.local.front_door import ROUTES, FrontDoorProcess
from deploy.local.front_door.process import reserve
from deploy.local.motoserver import MotoServer
from deploy.local.topology import Topology, provision
from tests.integration.front_door_support import unverified

if TYPE_CHECKING:
    from types_boto3_cognito_idp import CognitoIdentityProviderClient
    from types_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


@dataclass
class Api:
    """The API's URL, the pool to sign in to, and the topology it signs uploads for."""

    url: str
    pool: UserPool
    cognito: CognitoIdentityProviderClient
    topology: Topology
    s3: S3Client

    def as_user(self, name: str) -> tuple[ImgpipeApi, str]:
        """A client signed in as `name`, and that user's sub."""
        token = sign_in(self.cognito, self.pool, name).access_token
        return ImgpipeApi(self.url, lambda: token), str(unverified(token)["sub"])


@pytest.fixture
def api(moto_server: MotoServer, tmp_path: Path) -> Iterator[Api]:
    moto_server.reset()
    env = moto_server.environment()
    endpoint = EndpointSession(moto_server)
    topology = provision(endpoint, prefix="it")
    cognito = endpoint.client("cognito-idp")
    pool = provision_user_pool(cognito, moto_server.endpoint, "it")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IMGPIPE_"))}
    function_env = {**clean, **env, "IMGPIPE_INPUT_BUCKET": topology.input_bucket,
                    "IMGPIPE_OUTPUT_BUCKET": topology.output_bucket}  # fmt: skip
    door = FrontDoorProcess(reserve(None), pool, log=tmp_path / "api.log").start(function_env)
    try:
        yield Api(door.url, pool, cognito, topology, endpoint.client("s3"))
    finally:
        door.stop()


def test_the_doors_routes_are_the_apis(api: Api) -> None:
    # When the OpenAPI document is fetched, with no token (the one route that needs none)
    reply = requests.get(f"{api.url}/v1/openapi.json", timeout=30)
    # Then the operations it documents are exactly the door's routes: none is a gateway 404, and
    # the door routes nothing the API does not answer
    assert reply.status_code == 200, reply.text
    documented = {(method.upper(), path) for path, item in reply.json()["paths"].items() for method in item}
    door = {(route.method, route.path) for route in ROUTES if route.path != "/v1/openapi.json"}
    assert documented == door


def test_a_signed_in_user_uploads_under_their_own_sub(api: Api) -> None:
    # Given alice, signed in
    client, sub = api.as_user("alice")
    photo = samples.jpeg(samples.photo(64, 48, 1))
    # When she asks for a form and posts her photo with it
    created = client.create_upload("cat.jpg", "image/jpeg", len(photo))
    client.send(created, photo, "cat.jpg")
    # Then the upload is under her sub, as the token says, and S3 has it
    assert created["key"].startswith(f"uploads/{sub}/")
    stored = api.s3.get_object(Bucket=api.topology.input_bucket, Key=created["key"])["Body"].read()
    assert stored == photo
    # and the API follows it for her (no worker runs here: it stays pending)
    assert client.image(created["imageId"])["status"] == "pending"
    # but for bob it does not exist
    bob, _ = api.as_user("bob")
    with pytest.raises(ApiError) as refused:
        bob.image(created["imageId"])
    assert refused.value.status == 404


def test_without_a_token_the_gateway_answers_not_the_api(api: Api) -> None:
    reply = requests.post(f"{api.url}/v1/uploads", json={"filename": "a.jpg"}, timeout=30)
    assert (reply.status_code, reply.content) == (401, b'{"message":"Unauthorized"}')


def test_only_the_owner_deletes_through_the_door(api: Api) -> None:
    # Given alice's uploaded photo
    alice, _ = api.as_user("alice")
    photo = samples.jpeg(samples.photo(64, 48, 2))
    created = alice.create_upload("dog.jpg", "image/jpeg", len(photo))
    alice.send(created, photo, "dog.jpg")
    # When bob tries to delete it, then it is not found for him, and still there
    bob, _ = api.as_user("bob")
    with pytest.raises(ApiError) as refused:
        bob.delete(created["imageId"])
    assert refused.value.status == 404
    assert alice.image(created["imageId"])["status"] == "pending"
    # When alice deletes it, then it is deleted for her
    alice.delete(created["imageId"])
    assert alice.image(created["imageId"])["status"] == "deleted"


def test_requests_of_many_users_at_once_each_run_as_their_own_user(api: Api) -> None:
    # Given twelve users signed in, each asking for forms for 100 files at once, several times over
    # (validating a batch keeps a request in the handler long enough for others to overlap it)
    users = [api.as_user(f"crowd-{n}") for n in range(12)]
    files = [{"filename": f"p{n}.jpg", "contentType": "image/jpeg", "size": 1000} for n in range(100)]

    def ask(user: tuple[ImgpipeApi, str]) -> set[str]:
        client, _ = user
        answers = [client.create_uploads(files) for _ in range(4)]
        return {item["upload"]["key"].split("/")[1] for answer in answers for item in answer["items"]}

    with ThreadPoolExecutor(len(users)) as pool:
        prefixes = list(pool.map(ask, users))
    # Then every form names its own caller's prefix: no request ever ran as another user (the
    # resolver keeps the current event where every resolver of a process sees it)
    assert prefixes == [{sub} for _, sub in users]
