"""A bulk upload a re-run can finish: imageIds come from the content, what is there is not sent
again, identical files are one image, and a stopped run (Ctrl-C, a failed request) still says,
file by file, what is in the bucket and what is not (issue 19, item 13)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from deploy.ops.upload_keys import check_user, content_key
from deploy.ops.uploads import ALREADY, DUPLICATE, UPLOADED, NotUploaded, Skipped, Uploaded, upload_all
from shared.errors import InvalidKey
from tests.unit.fake_s3_wire import WireBucket
from tests.unit.test_cli import write_photo

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

pytestmark = pytest.mark.unit

BUCKET = "imgpipe-input"


@pytest.fixture
def wire() -> WireBucket:
    return WireBucket()


@pytest.fixture
def s3(wire: WireBucket) -> S3Client:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
        endpoint_url="http://127.0.0.1:9",  # never reached: the bucket answers inside botocore
    )  # fmt: skip
    return wire.attach(client)


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [write_photo(folder / f"p{n}.jpg", 32 + n, 24) for n in range(count)]


def test_an_image_id_is_the_same_for_the_same_user_type_and_content_and_differs_otherwise(
    tmp_path: Path,
) -> None:
    digest = "ab" * 32
    key, image_id = content_key("alice", Path("a/photo.JPG"), digest)
    assert key == f"uploads/alice/{image_id}.jpg" and len(image_id) == 36
    assert content_key("alice", Path("elsewhere/renamed.jpg"), digest) == (key, image_id)
    others = {content_key("bob", Path("x.jpg"), digest)[1], content_key("alice", Path("x.png"), digest)[1],
              content_key("alice", Path("x.jpg"), "cd" * 32)[1]}  # fmt: skip
    assert image_id not in others and len(others) == 3


def test_a_second_run_sends_nothing_and_says_every_file_is_already_uploaded(
    s3: S3Client, wire: WireBucket, tmp_path: Path
) -> None:
    # Given three photos uploaded once
    files = photos(tmp_path / "in", 3)
    first = upload_all(s3, BUCKET, files, "alice", 4)
    assert [u.status for u in first.in_bucket] == [UPLOADED] * 3 and len(wire.puts()) == 3
    # When the same files are uploaded again
    again = upload_all(s3, BUCKET, files, "alice", 4)
    # Then nothing is sent, and each file keeps its key and imageId
    assert len(wire.puts()) == 3
    assert [(u.status, u.key, u.image_id) for u in again.in_bucket] == [
        (ALREADY, u.key, u.image_id) for u in first.in_bucket
    ]


@pytest.mark.parametrize("head_status", [None, 403], ids=["other-content-there", "head-forbidden"])
def test_an_object_not_known_to_hold_the_content_is_uploaded(
    s3: S3Client, wire: WireBucket, tmp_path: Path, head_status: int | None
) -> None:
    # Given a photo whose key holds other bytes (no matching digest), or a HEAD this caller may
    # not make (S3 answers 403 for a missing key without s3:ListBucket)
    (photo,) = photos(tmp_path / "in", 1)
    first = upload_all(s3, BUCKET, [photo], "alice", 1)
    wire.objects[first.in_bucket[0].key]["x-amz-meta-sha256"] = "0" * 64
    wire.head_status = head_status
    # When it is uploaded again
    again = upload_all(s3, BUCKET, [photo], "alice", 1)
    # Then it is sent, not taken for already there
    assert [u.status for u in again.in_bucket] == [UPLOADED] and len(wire.puts()) == 2


def test_identical_files_in_one_run_are_one_upload_and_one_image(
    s3: S3Client, wire: WireBucket, tmp_path: Path
) -> None:
    # Given the same photo under two names, and another photo
    (one, other) = photos(tmp_path / "in", 2)
    copy = tmp_path / "in" / "copy of p0.jpg"
    copy.write_bytes(one.read_bytes())
    # When all three are uploaded
    done = upload_all(s3, BUCKET, [one, copy, other], "alice", 4)
    # Then two objects are sent; the copy shares its first's imageId and says whose
    assert len(wire.puts()) == 2
    first, second, third = done.in_bucket
    assert (first.image_id, first.key) == (second.image_id, second.key) != (third.image_id, third.key)
    duplicate, sender = (second, first) if second.status == DUPLICATE else (first, second)
    assert duplicate.status == DUPLICATE and duplicate.same_as == sender.path and sender.status == UPLOADED
    assert len(done.uploaded) == 2  # one per image: what a caller waits for results of


def test_ctrl_c_stops_the_run_and_the_record_says_what_is_there_and_a_rerun_sends_the_rest(
    s3: S3Client, wire: WireBucket, tmp_path: Path
) -> None:
    # Given 12 photos, and Ctrl-C pressed as the third upload completes (one at a time)
    files = photos(tmp_path / "in", 12)
    completed: list[Uploaded | Skipped] = []

    def ctrl_c_at_the_third(done: Uploaded | Skipped) -> None:
        completed.append(done)
        if len(completed) == 3:
            raise KeyboardInterrupt

    # When the run is stopped
    stopped = upload_all(s3, BUCKET, files, "alice", 1, ctrl_c_at_the_third)
    # Then it returns its record instead of raising: every file is in the bucket or said not to be
    assert stopped.interrupted
    assert [o.path for o in stopped.outcomes] == files
    there = {u.key for u in stopped.in_bucket}
    assert there == set(wire.objects) and 3 <= len(there) < 12  # the one in flight may have ended
    assert all(isinstance(o, Uploaded | NotUploaded) for o in stopped.outcomes)
    assert {o.reason for o in stopped.not_uploaded} == {"not started: the run was stopped"}
    # And a second run sends exactly the files the first did not
    rerun = upload_all(s3, BUCKET, files, "alice", 4)
    assert len(wire.puts()) == 12
    assert [u.path for u in rerun.in_bucket if u.status == UPLOADED] == [o.path for o in stopped.not_uploaded]


def test_a_failed_request_stops_the_run_with_its_record(
    s3: S3Client, wire: WireBucket, tmp_path: Path
) -> None:
    # Given a bucket that refuses the third PUT
    files = photos(tmp_path / "in", 6)
    answer = wire._answer

    def refuse_third_put(request: AWSPreparedRequest, **kwargs: object) -> AWSResponse:
        if request.method == "PUT" and len(wire.puts()) == 2:
            raise RuntimeError("the bucket refused it")
        return answer(request, **kwargs)

    # botocore-stubs type every event handler as returning None; a before-send one may answer instead
    s3.meta.events.unregister("before-send.s3", answer)  # type: ignore[arg-type]
    s3.meta.events.register("before-send.s3", refuse_third_put)  # type: ignore[arg-type]
    # When the files are uploaded one at a time
    done = upload_all(s3, BUCKET, files, "alice", 1)
    # Then the failure is what stopped it, and the record names the file and the reason
    assert isinstance(done.stopped_by, RuntimeError) and not done.interrupted
    assert [u.path for u in done.in_bucket] == files[:2]
    assert done.not_uploaded[0].path == files[2] and "the bucket refused it" in done.not_uploaded[0].reason


@pytest.mark.parametrize("user", ["alice\n", "", "a/b", "watermarked"])
def test_a_user_the_key_layout_refuses_is_refused_whole(user: str) -> None:
    with pytest.raises(InvalidKey):
        check_user(user)
