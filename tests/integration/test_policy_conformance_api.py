"""Policy conformance of the client API (issue 21): what the API function and the browsers it
signs for send, held against the policies our Terraform writes (issue 19, item 4's class of bug).

The API's handler runs for real against the moto server (which checks no policy), configured as
Terraform configures the function, with the buckets versioned as Terraform makes them. Every
request its botocore client sends is recorded (`tests.policy.capture`), and so is the
`s3:ListBucket` S3 checks before it answers a read with 404 (`tests.policy.answers`): on AWS,
without it, "no manifest yet" would be 403 AccessDenied. Each is evaluated as the API function's
role, its only grant, under the bucket and key policies. The browser's side is judged the same
way: the pre-signed POST as S3 evaluates it (a PutObject by the role that signed it, the form's
fields as condition keys) and the variants' pre-signed GETs. A refusal names the request, the
policy and the statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.api_support import Answer, call, http_event, post_policy_violations
from tests.fixtures import images
from tests.integration.conftest import object_key
from tests.integration.test_policy_conformance import (  # the fixture is reused as it is
    Conformance,
    conformance,  # noqa: F401
    function_environment,
)
from tests.policy import Deployment
from tests.policy.answers import Answers, answering
from tests.policy.capture import Wire
from tests.policy.conformance import Caller, presigned_request, refusals, role
from tests.policy.hcl import ROOT, load
from tests.policy.post import uncovered, upload_wire
from tests.policy.wire import requests as authorisations
from worker.api.app import create_app
from worker.api.aws import s3_client
from worker.api.settings import load_api_settings

pytestmark = pytest.mark.integration

API = "client API"
SSE = "x-amz-server-side-encryption"


def versioned_buckets(dep: Deployment) -> list[str]:
    """The deployment's data buckets (`input_bucket`, `output_bucket`) whose module versions them."""
    found = []
    for name in ("input_bucket", "output_bucket"):
        module = load(ROOT / dep.tf["module"][name]["source"])
        for block in module["resource"].get("aws_s3_bucket_versioning", {}).values():
            config = block["versioning_configuration"]
            if (config[0] if isinstance(config, list) else config)["status"] == "Enabled":
                found.append(name)
    return found


@dataclass
class Api:
    """The API's resolver as Terraform configures it, and what it and browsers send."""

    conformance: Conformance
    answers: Answers
    resolve: Any

    @property
    def role(self) -> Caller:
        return role(self.conformance.dep, "aws_iam_role.api.arn")

    def call(self, method: str, path: str, body: Any = None, **query: str) -> Answer:
        """One request of alice's to the API, its S3 requests recorded as the API's."""
        self.conformance.recorder.client = API
        try:
            return call(self.resolve, http_event(method, path, body, query=query or None))
        finally:
            self.conformance.recorder.client = None

    def sent(self) -> list[Wire]:
        """Every request the API sent, and the ListBucket S3 checks behind each 404 it answered."""
        recorded = self.conformance.recorder.of(API)
        return [w for w in recorded if not w.presigned] + self.answers.of(API)

    def refused(self, wires: list[Wire]) -> str:
        """What AWS would refuse of `wires` sent as the API's role, one line each."""
        return self.conformance.refused(wires, self.role)

    def sign(self, filename: str, size: int) -> dict[str, Any]:
        """POST /v1/uploads: the signed upload."""
        request = {"filename": filename, "contentType": "image/jpeg", "size": size}
        answer = self.call("POST", "/v1/uploads", request)
        assert answer.status == 201, answer.text
        return dict(answer.json())

    def upload(self, body: bytes, filename: str = "photo.jpg") -> dict[str, Any]:
        """Sign an upload and POST the file with its form as a browser does; the signed upload."""
        signed = self.sign(filename, len(body))
        assert browser_post(signed["upload"], body).ok
        return signed

    def process(self, signed: list[dict[str, Any]], events: int) -> None:
        """Run the worker (not recorded) on these uploads' events, once `events` have arrived."""
        messages = self.conformance.stack.drain(events)
        mine = [m for m in messages if object_key(m) in {s["key"] for s in signed}]
        assert {object_key(m) for m in mine} == {s["key"] for s in signed}
        assert self.conformance.stack.process(mine) == {"batchItemFailures": []}

    def actions(self) -> set[tuple[str, str]]:
        """(IAM action, top-level prefix) of every request the API sent: what the role is asked for."""
        dep, rename = self.conformance.dep, self.conformance.rename
        asked = [r for w in self.sent() for r in authorisations(w, self.role.principal, rename, dep)]
        # an object's key, or a listing's prefix
        where = [r.context.get("s3:prefix", r.resource.partition(":::")[2].partition("/")[2]) for r in asked]
        return {(r.action, w.split("/", 1)[0]) for r, w in zip(asked, where, strict=True)}


def browser_post(
    form: dict[str, Any], body: bytes, fields: dict[str, str] | None = None
) -> requests.Response:
    """The upload as a browser's FormData sends it: the form's fields, then the file."""
    data = form["fields"] if fields is None else fields
    return requests.post(form["url"], data=data, files={"file": ("upload", body)}, timeout=10)


@pytest.fixture
def api(conformance: Conformance, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:  # noqa: F811
    dep, stack = conformance.dep, conformance.stack
    for name in versioned_buckets(dep):
        bucket = conformance.emulated[dep.value(f"module.{name}.id")]
        stack.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for variable, value in function_environment(
        dep, conformance.emulated, "worker.api.handler.handler"
    ).items():
        monkeypatch.setenv(variable, value)
    s3_client.cache_clear()  # made afresh on first use, so the recorder is on it
    with answering(monkeypatch, conformance.recorder) as answers:
        yield Api(conformance, answers, create_app(load_api_settings()).resolve)
    s3_client.cache_clear()


def test_the_browsers_post_of_a_form_the_api_signed_is_accepted(api: Api) -> None:
    # Given alice's signed uploads, one alone and one from a batch (the bulk lane's mark in it)
    body = images.photo_jpeg(64, 48, seed=1)
    one = api.sign("holiday photo.jpg", len(body))
    files = [{"filename": "bulk.jpg", "contentType": "image/jpeg", "size": len(body)}]
    (item,) = api.call("POST", "/v1/uploads/batch", {"files": files}).json()["items"]
    # (signing is offline: two forms signed, as the role's PutObject, and nothing asked of AWS)
    signed_forms = [w.operation for w in api.conformance.recorder.of(API) if w.presigned]
    assert (signed_forms, api.sent()) == (["s3.PutObject"] * 2, [])
    bucket = api.conformance.stack.topology.input_bucket
    for signed in (one, item["upload"]):
        form = signed["upload"]
        # When her browser POSTs the file with the form
        assert browser_post(form, body).ok
        # Then S3 takes the form (every field signed, every condition met)
        assert uncovered(form["fields"]) == []
        assert post_policy_violations(form["fields"], len(body), bucket) == []
        # And the upload, a PutObject by the API's role with the form's fields, is allowed by the
        # role, the input bucket's policy and the key's (S3's GenerateDataKey on the role's behalf)
        wire = upload_wire("browser POST", form["url"], form["fields"])
        assert wire.headers[SSE] == "aws:kms"
        assert api.refused([wire]) == ""


def test_the_same_form_without_its_sse_field_is_refused_by_the_input_bucket(api: Api) -> None:
    # Given alice's signed upload, its encryption field taken out of the form
    body = images.photo_jpeg(64, 48, seed=2)
    form = api.sign("photo.jpg", len(body))["upload"]
    fields = {k: v for k, v in form["fields"].items() if k.lower() != SSE}
    # When a browser sends it: the moto server takes it, as it takes any form
    assert browser_post(form, body, fields).ok
    # Then on AWS the signed policy refuses the form, and were the field not pinned, the input
    # bucket's policy would refuse the upload, naming its statement
    bucket = api.conformance.stack.topology.input_bucket
    assert f"{SSE}: None does not satisfy eq 'aws:kms'" in post_policy_violations(fields, len(body), bucket)
    (refusal,) = refusals(
        [upload_wire("browser POST", form["url"], fields)],
        api.role,
        api.conformance.rename,
        api.conformance.dep,
    )
    assert refusal.request.action == "s3:PutObject"
    assert refusal.verdict.policy == "module.input_bucket.aws_s3_bucket_policy.this"
    assert refusal.verdict.sid == "DenyUnencryptedUploads", str(refusal)


def test_reading_a_pending_a_complete_and_a_failed_image_is_allowed(api: Api) -> None:
    # Given alice's three uploads: one not processed yet, one processed, one corrupt and failed
    pending = api.upload(images.photo_jpeg(64, 48, seed=3))
    good = api.upload(images.photo_jpeg(64, 48, seed=4))
    bad = api.upload(images.truncated_jpeg(64, 48))
    api.process([good, bad], events=3)
    # When she asks for each
    statuses = [api.call("GET", f"/v1/images/{s['imageId']}").json()["status"] for s in (pending, good, bad)]
    # Then each is what it is, read from the manifest, or from the upload when there is none yet
    assert statuses == ["pending", "complete", "failed"]
    assert {"s3.GetObject", "s3.ListObjectsV2"} <= {w.operation for w in api.sent()}
    manifest = f"metadata/{pending['imageId']}/processing-info.json"
    assert [w.client.rsplit(" ", 1)[1] for w in api.answers.of(API)] == [manifest]
    # And AWS would refuse none of it: reads, the upload's lookup, and the 404 of the manifest
    assert api.refused(api.sent()) == ""


def test_the_variant_urls_of_a_complete_image_are_accepted_for_the_api_role(api: Api) -> None:
    # Given alice's processed image
    good = api.upload(images.photo_jpeg(96, 64, seed=5))
    api.process([good], events=1)
    # When she asks for it
    view = api.call("GET", f"/v1/images/{good['imageId']}").json()
    assert view["status"] == "complete" and view["variants"], view
    signed = {urlsplit(w.url).path: w for w in api.conformance.recorder.of(API) if w.presigned}
    for variant in view["variants"]:
        # Then each URL needs no header besides the host, and a browser's GET of it works
        grant = {"url": variant["url"], "method": "GET", "headers": {}}
        browser, gaps = presigned_request(
            f"browser GET {variant['name']}", grant, signed[urlsplit(variant["url"]).path]
        )
        assert gaps == []
        fetched = requests.get(variant["url"], timeout=10)
        assert (fetched.status_code, len(fetched.content)) == (200, variant["bytes"])
        # And the output bucket, the key (Decrypt on the role's behalf) and the role allow it
        assert browser.operation == "s3.GetObject"
        assert api.refused([browser]) == ""


def test_listing_images_page_by_page_is_allowed(api: Api) -> None:
    # Given alice's three uploads, none processed yet
    uploaded = {api.upload(images.photo_jpeg(32, 32, seed=n))["imageId"] for n in (6, 7, 8)}
    # When she lists them two at a time
    first = api.call("GET", "/v1/images", limit="2").json()
    second = api.call("GET", "/v1/images", limit="2", cursor=first["nextCursor"]).json()
    # Then she gets all three, over two pages, each pending (no manifest yet)
    images_seen = first["images"] + second["images"]
    assert {i["imageId"] for i in images_seen} == uploaded and second["nextCursor"] is None
    assert {i["status"] for i in images_seen} == {"pending"}
    # And the listings, the manifest reads and their 404s are all allowed
    operations = [w.operation for w in api.sent()]
    assert operations.count("s3.ListObjectsV2") == 2 + 3  # two pages, three 404 checks
    assert api.refused(api.sent()) == ""


def test_deleting_a_complete_image_and_deleting_it_again_is_allowed(api: Api) -> None:
    # Given alice's image, uploaded twice with its form (two versions of the upload), processed
    body = images.photo_jpeg(64, 48, seed=9)
    good = api.upload(body)
    assert browser_post(good["upload"], body).ok
    api.process([good], events=2)  # both versions' events
    assert api.call("GET", f"/v1/images/{good['imageId']}").json()["status"] == "complete"
    # When she deletes it, and deletes it again
    first = api.call("DELETE", f"/v1/images/{good['imageId']}")
    again = api.call("DELETE", f"/v1/images/{good['imageId']}")
    # Then both are 204 and nothing of it is left, not a version
    assert (first.status, again.status) == (204, 204), (first.text, again.text)
    stack = api.conformance.stack
    left = stack.s3.list_object_versions(Bucket=stack.topology.input_bucket, Prefix="uploads/alice/")
    assert left.get("Versions", []) == [] and left.get("DeleteMarkers", []) == []
    # And the deletion asked for: the tombstone's write, the upload's and renders' versions listed
    # and deleted, the replaced manifest's version deleted
    assert {
        ("s3:PutObject", "metadata"),
        ("s3:ListBucketVersions", "uploads"),
        ("s3:ListBucketVersions", "processed"),
        ("s3:ListBucketVersions", "metadata"),
        ("s3:DeleteObjectVersion", "uploads"),
        ("s3:DeleteObjectVersion", "processed"),
        ("s3:DeleteObjectVersion", "metadata"),
    } <= api.actions(), api.actions()
    # And AWS would refuse none of it
    assert api.refused(api.sent()) == ""


def test_deleting_a_pending_image_is_allowed(api: Api) -> None:
    # Given alice's upload, not processed yet (no manifest)
    pending = api.upload(images.photo_jpeg(64, 48, seed=10))
    # When she deletes it
    answer = api.call("DELETE", f"/v1/images/{pending['imageId']}")
    # Then it is 204 and deleted, its manifest's 404 checked, its tombstone written where none was
    assert answer.status == 204, answer.text
    assert api.call("GET", f"/v1/images/{pending['imageId']}").json()["status"] == "deleted"
    assert api.answers.of(API), "the missing manifest's 404 was not seen"
    tombstone = [w for w in api.sent() if w.operation == "s3.PutObject"]
    assert len(tombstone) == 1 and tombstone[0].headers.get("if-none-match") == "*"
    assert api.refused(api.sent()) == ""
