"""`imgpipe upload / presign / status` against a real moto server with the provisioned topology."""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from typer.testing import CliRunner, Result

from deploy import cli
from deploy.local import samples
from deploy.local.motoserver import MotoServer
from deploy.local.topology import Topology, provision
from deploy.ops.status import queue_depth
from shared.keys import manifest_key
from shared.manifest import Manifest

pytestmark = pytest.mark.integration

runner = CliRunner()
UPLOAD_KEY = re.compile(r"^uploads/cli/(img_[0-9a-f]{32})\.(jpg|png)$")


@dataclass(frozen=True)
class Aws:
    """The provisioned topology and clients on the test's moto server."""

    topology: Topology
    s3: Any
    sqs: Any


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with MotoServer() as running:
        yield running


@pytest.fixture
def aws(server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Aws:
    """A fresh topology, and the environment pointing the CLI (and boto3) at it."""
    server.reset()
    for name in list(os.environ):
        if name.startswith(("AWS_", "IMGPIPE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    session = boto3.Session(region_name="us-east-1")
    return Aws(provision(session), session.client("s3"), session.client("sqs"))


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli.app, list(args), env=env, prog_name="imgpipe")


def put_manifest(aws: Aws, image_id: str, status: str, variant: bytes | None = None) -> Manifest:
    """A manifest as the worker writes it (and the variant it names, for complete ones)."""
    document: dict[str, Any] = {
        "status": status,
        "imageId": image_id,
        "userId": "cli",
        "source": {"bucket": aws.topology.input_bucket, "key": f"uploads/cli/{image_id}.jpg"},
        "pipeline": {"configHash": "0123456789abcdef"},
    }
    if variant is not None:
        key = f"processed/cli/{image_id}/small.jpg"
        aws.s3.put_object(Bucket=aws.topology.output_bucket, Key=key, Body=variant)
        document["variants"] = [
            {"name": "small", "key": key, "format": "jpeg", "width": 32, "height": 24,
             "bytes": len(variant), "sha256": hashlib.sha256(variant).hexdigest()},
        ]  # fmt: skip
    else:
        document["error"] = {"type": "CorruptImage", "message": "jpeg image cannot be decoded"}
    manifest = Manifest.model_validate(document)
    aws.s3.put_object(Bucket=aws.topology.output_bucket, Key=manifest_key(image_id), Body=manifest.to_json())
    return manifest


def status_rows(output: str) -> dict[str, int]:
    """`what -> count` from the status table."""
    rows = re.findall(r"│\s*([^│]*?)\s*│\s*(\d+)\s*│", output)
    return {what: int(count) for what, count in rows}


def test_upload_puts_every_file_under_the_user_prefix(aws: Aws, tmp_path: Path) -> None:
    files = samples.write(
        [
            samples.Sample("one.jpg", samples.jpeg(samples.photo(64, 48, 1))),
            samples.Sample("two photo.png", samples.with_alpha(samples.photo(64, 48, 2))),
        ],
        tmp_path / "photos",
    )
    result = invoke("upload", *map(str, files))
    assert result.exit_code == 0, result.output
    assert "uploaded 2 files to s3://imgpipe-input/uploads/cli/" in result.stdout
    listed = aws.s3.list_objects_v2(Bucket=aws.topology.input_bucket, Prefix="uploads/cli/")
    keys = [obj["Key"] for obj in listed.get("Contents", [])]
    assert len(keys) == 2
    by_name = {}
    for key in keys:
        match = UPLOAD_KEY.match(key)
        assert match, key
        head = aws.s3.head_object(Bucket=aws.topology.input_bucket, Key=key)
        name = unquote(head["Metadata"]["original-filename"])
        assert Path(name).suffix == f".{match[2]}"
        by_name[name] = aws.s3.get_object(Bucket=aws.topology.input_bucket, Key=key)["Body"].read()
    assert by_name == {path.name: path.read_bytes() for path in files}


def test_upload_json_maps_every_file_to_its_image_id_and_says_what_it_skipped(
    aws: Aws, tmp_path: Path
) -> None:
    # Given a folder of photos (two with one name, in two subfolders), an empty one and a note
    photos = tmp_path / "photos"
    for sub in ("a", "b"):
        (photos / sub).mkdir(parents=True)
    samples.write([samples.Sample("same.jpg", samples.jpeg(samples.photo(64, 48, 1)))], photos / "a")
    samples.write([samples.Sample("same.jpg", samples.jpeg(samples.photo(48, 64, 2)))], photos / "b")
    samples.write([samples.Sample("café.png", samples.with_alpha(samples.photo(32, 32, 3)))], photos)
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "notes.txt").write_text("not a photo")
    # When the folder is uploaded with --json
    result = invoke("upload", "photos", "--user", "alice", "--json")
    # Then stdout is one document mapping each file to its imageId and key, in the files' order,
    # and each stored object holds the file's bytes and its base name; the skipped two say why
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["bucket"], document["user"]) == ("imgpipe-input", "alice")
    assert [u["path"] for u in document["uploaded"]] == [
        "photos/a/same.jpg",
        "photos/b/same.jpg",
        "photos/café.png",
    ]
    for entry in document["uploaded"]:
        assert entry["key"] == f"uploads/alice/{entry['imageId']}{Path(entry['path']).suffix}"
        stored = aws.s3.get_object(Bucket=aws.topology.input_bucket, Key=entry["key"])
        assert stored["Body"].read() == (tmp_path / entry["path"]).read_bytes()
        assert entry["bytes"] == stored["ContentLength"]
        assert unquote(stored["Metadata"]["original-filename"]) == Path(entry["path"]).name
    assert len({u["imageId"] for u in document["uploaded"]}) == 3
    assert document["skipped"] == [
        {"path": "photos/empty.jpg", "reason": "empty"},
        {"path": "photos/notes.txt", "reason": "content is not an allowed image format (looks like text)"},
    ]


def test_upload_prints_the_mapping_for_people_too(aws: Aws, tmp_path: Path) -> None:
    # Given one photo and one note
    photo = tmp_path / "one.jpg"
    photo.write_bytes(samples.jpeg(samples.photo(64, 48, 1)))
    (tmp_path / "note.txt").write_text("x")
    # When both are uploaded without --json
    result = invoke("upload", "one.jpg", "note.txt")
    # Then the table shows the file beside its imageId and key, and the skip beside its reason
    assert result.exit_code == 0, result.output
    listed = aws.s3.list_objects_v2(Bucket=aws.topology.input_bucket, Prefix="uploads/cli/")["Contents"]
    (key,) = [obj["Key"] for obj in listed]
    image_id = Path(key).stem
    rows = _rows(result.stdout)
    assert ["", "one.jpg", image_id, key, "uploaded", ""] in rows
    assert ["", "note.txt", "content is not an allowed image format (looks like text)", ""] in rows
    assert "uploaded 1 files to s3://imgpipe-input/uploads/cli/; skipped 1" in result.stdout


@pytest.mark.parametrize("kms_key", [None, "arn:aws:kms:us-east-1:123456789012:key/imgpipe-test"])
def test_uploads_are_stored_with_sse_kms_as_the_deployed_bucket_requires(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kms_key: str | None
) -> None:
    # Given a photo, and the deployment's key configured or not
    if kms_key:
        monkeypatch.setenv("IMGPIPE_KMS_KEY_ID", kms_key)
    (tmp_path / "one.jpg").write_bytes(samples.jpeg(samples.photo(64, 48, 1)))
    # When it is uploaded
    result = invoke("upload", "one.jpg", "--json")
    assert result.exit_code == 0, result.output
    # Then S3 stored it SSE-KMS, under the key configured when there is one
    (entry,) = json.loads(result.stdout)["uploaded"]
    head = aws.s3.head_object(Bucket=aws.topology.input_bucket, Key=entry["key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    if kms_key:
        assert head["SSEKMSKeyId"] == kms_key


def test_a_second_upload_of_the_same_files_sends_nothing_and_says_so(aws: Aws, tmp_path: Path) -> None:
    # Given two photos uploaded once
    for n in (1, 2):
        (tmp_path / f"p{n}.jpg").write_bytes(samples.jpeg(samples.photo(64, 48, n)))
    first = json.loads(invoke("upload", "p1.jpg", "p2.jpg", "--json").stdout)
    # When they are uploaded again, for a person
    result = invoke("upload", "p1.jpg", "p2.jpg")
    # Then each keeps its imageId and key, is said to be already uploaded, and was not written again
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    for u in first["uploaded"]:
        assert ["", u["path"], u["imageId"], u["key"], "already uploaded", ""] in rows
    assert "uploaded 0 files to s3://imgpipe-input/uploads/cli/; 2 already uploaded" in result.stdout
    # And S3 announced two uploads in all, from the first run
    events = [b for b in _bodies(aws, aws.topology.queue_url) if "ObjectCreated" in b]
    assert len(events) == 2


def test_the_upload_table_shows_hostile_file_names_as_they_are(aws: Aws, tmp_path: Path) -> None:
    # Given photos whose names are rich markup: a closing tag in the path, a link, a style
    (tmp_path / "a[").mkdir()
    names = ["a[/x].jpg", "[link=https:evil.example]click[bold].jpg"]
    for n, name in enumerate(names):
        (tmp_path / name).write_bytes(samples.jpeg(samples.photo(64, 48, n)))
    # When they are uploaded
    result = invoke("upload", *names)
    # Then the table lists them as written, and their stored names are theirs
    assert result.exit_code == 0, result.output
    for name in names:
        assert name in result.stdout


def test_presigned_upload_stores_the_base_name_only(aws: Aws, tmp_path: Path) -> None:
    # Given a whole local path as the file name
    photo = tmp_path / "Pictures" / "holiday photo.jpg"
    photo.parent.mkdir()
    photo.write_bytes(samples.jpeg(samples.photo(32, 24, 5)))
    result = invoke("presign", "upload", str(photo))
    assert result.exit_code == 0, result.output
    grant = json.loads(result.stdout)
    # When the file is PUT with the granted headers
    request = urllib.request.Request(
        grant["url"], data=samples.jpeg(samples.photo(32, 24, 5)), method="PUT", headers=grant["headers"]
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    # Then the stored original filename is the base name
    stored = aws.s3.head_object(Bucket=aws.topology.input_bucket, Key=grant["key"])
    assert unquote(stored["Metadata"]["original-filename"]) == "holiday photo.jpg"


def test_upload_to_a_missing_bucket_is_one_line(aws: Aws, tmp_path: Path) -> None:
    photo = tmp_path / "one.jpg"
    photo.write_bytes(samples.jpeg(samples.photo(64, 48, 1)))
    result = invoke("upload", "--bucket", "missing-bucket", str(photo))
    assert isinstance(result.exception, SystemExit), f"escaped: {result.exception!r}"
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("imgpipe: ")
    assert "NoSuchBucket" in lines[0]


def test_presigned_upload_url_accepts_a_put_with_its_headers(aws: Aws, tmp_path: Path) -> None:
    body = samples.jpeg(samples.photo(64, 48, 3))
    (tmp_path / "photo.jpg").write_bytes(body)  # the working folder (the aws fixture's chdir)
    result = invoke("presign", "upload", "photo.jpg")
    assert result.exit_code == 0, result.output
    grant = json.loads(result.stdout)
    assert {"url", "key", "headers"} <= grant.keys()
    assert grant["method"] == "PUT"
    match = UPLOAD_KEY.match(grant["key"])
    assert match and match[1] == grant["imageId"] and match[2] == "jpg"
    request = urllib.request.Request(grant["url"], data=body, method="PUT", headers=grant["headers"])
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    stored = aws.s3.get_object(Bucket=aws.topology.input_bucket, Key=grant["key"])
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "image/jpeg"
    assert stored["Metadata"] == {"original-filename": "photo.jpg"}


def test_presigned_download_url_returns_the_variant(aws: Aws) -> None:
    variant = samples.jpeg(samples.photo(32, 24, 4))
    put_manifest(aws, "img_done", "complete", variant)
    result = invoke("presign", "download", "img_done", "--variant", "small")
    assert result.exit_code == 0, result.output
    grant = json.loads(result.stdout)
    assert grant["key"] == "processed/cli/img_done/small.jpg"
    with urllib.request.urlopen(grant["url"], timeout=10) as response:
        assert response.read() == variant

    missing = invoke("presign", "download", "img_nope")
    assert isinstance(missing.exception, SystemExit), f"escaped: {missing.exception!r}"
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines() == [
        "imgpipe: no manifest for image 'img_nope' in bucket 'imgpipe-output'"
    ]


@pytest.mark.parametrize("command", ["upload", "download"])
def test_presigned_urls_are_sigv4(aws: Aws, command: str, tmp_path: Path) -> None:
    if command == "upload":
        (tmp_path / "photo.jpg").write_bytes(samples.jpeg(samples.photo(32, 24, 6)))
        result = invoke("presign", "upload", "photo.jpg")
    else:
        put_manifest(aws, "img_done", "complete", b"variant bytes")
        result = invoke("presign", "download", "img_done", "--variant", "small")
    assert result.exit_code == 0, result.output
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in json.loads(result.stdout)["url"]


def test_status_counts_queue_manifests_and_dlq(aws: Aws) -> None:
    aws.s3.put_object(Bucket=aws.topology.input_bucket, Key="uploads/cli/img_a.jpg", Body=b"x")
    put_manifest(aws, "img_done", "complete", b"variant bytes")
    put_manifest(aws, "img_bad", "failed")
    aws.sqs.send_message(
        QueueUrl=aws.topology.dlq_url,
        MessageBody="{}",
        MessageAttributes={"imgpipe-error-type": {"DataType": "String", "StringValue": "CorruptImage"}},
    )
    depth = queue_depth(aws.sqs, aws.topology.queue_url)
    assert depth.visible >= 1  # the upload's event (S3 may also have sent its TestEvent)
    env = {"IMGPIPE_QUEUE_URL": aws.topology.queue_url, "IMGPIPE_DLQ_URL": aws.topology.dlq_url}
    result = invoke("status", env=env)
    assert result.exit_code == 0, result.output
    assert "queued" in result.stdout
    rows = status_rows(result.stdout)
    assert rows["queued"] == depth.visible + depth.delayed
    assert rows["in flight"] == 0
    assert rows["images complete"] == 1
    assert rows["images failed"] == 1
    assert rows["quarantined (DLQ)"] == 1
    assert rows["CorruptImage"] == 1


def _quarantine(aws: Aws, body: str, error_type: str | None, key: str) -> None:
    attributes = {}
    if error_type is not None:
        attributes = {
            "imgpipe-error-type": {"DataType": "String", "StringValue": error_type},
            "imgpipe-error-message": {"DataType": "String", "StringValue": f"{error_type} because"},
            "imgpipe-object-key": {"DataType": "String", "StringValue": key},
            "imgpipe-failed-at": {"DataType": "String", "StringValue": "2026-11-24T20:00:00.000Z"},
        }
    aws.sqs.send_message(QueueUrl=aws.topology.dlq_url, MessageBody=body, MessageAttributes=attributes)


def _rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")] for line in table.splitlines() if "│" in line]


def _bodies(aws: Aws, url: str) -> list[str]:
    found: dict[str, str] = {}
    for _ in range(5):
        response = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        found.update((m["MessageId"], m["Body"]) for m in response.get("Messages", []))
    return sorted(found.values())


def test_dlq_stats_list_and_filtered_redrive(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given three quarantined messages: two of one error type, one without imgpipe attributes
    monkeypatch.setenv("IMGPIPE_DLQ_URL", aws.topology.dlq_url)
    monkeypatch.setenv("IMGPIPE_QUEUE_URL", aws.topology.queue_url)
    for message in aws.sqs.receive_message(QueueUrl=aws.topology.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):  # the s3:TestEvent the notification configuration sent
        aws.sqs.delete_message(QueueUrl=aws.topology.queue_url, ReceiptHandle=message["ReceiptHandle"])
    _quarantine(aws, '{"n": 1}', "ImageTooLarge", "uploads/u1/big1.jpg")
    _quarantine(aws, '{"n": 2}', "ImageTooLarge", "uploads/u1/big2.jpg")
    _quarantine(aws, '{"n": 3}', None, "")
    # When an operator looks (on a wide terminal, so keys are not folded), then redrives one type
    monkeypatch.setattr(cli.console, "_width", 200)
    stats = runner.invoke(cli.app, ["dlq", "stats"], terminal_width=200)
    listing = runner.invoke(cli.app, ["dlq", "list", "--type", "imagetoolarge"], terminal_width=200)
    moved = runner.invoke(cli.app, ["dlq", "redrive", "--type", "ImageTooLarge", "--yes"], terminal_width=200)
    # Then the counts and keys were shown, and exactly those two bodies moved back unchanged
    assert stats.exit_code == 0, stats.output
    rows = {cells[1]: cells[2] for cells in _rows(stats.output) if len(cells) > 3}
    assert rows["ImageTooLarge"] == "2" and rows["Exhausted"] == "1"
    assert listing.exit_code == 0 and "uploads/u1/big1.jpg" in listing.output and "big2" in listing.output
    assert moved.exit_code == 0 and "moved 2 message(s)" in moved.output
    assert _bodies(aws, aws.topology.queue_url) == ['{"n": 1}', '{"n": 2}']
    assert _bodies(aws, aws.topology.dlq_url) == ['{"n": 3}']


def test_dlq_commands_need_the_queue_urls(aws: Aws) -> None:
    result = runner.invoke(cli.app, ["dlq", "redrive"])
    assert result.exit_code == 2
    assert "IMGPIPE_DLQ_URL" in result.output
