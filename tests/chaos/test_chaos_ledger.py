"""The chaos ledger catches what it claims to: a variant that does not hash to its manifest, a
manifest of an older upload, renders beyond one per upload, and a wrong quarantine count."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from botocore.response import StreamingBody

from loadtest.chaos.ledger import ChaosLedger, check_manifest, renders_from_log
from loadtest.load.ledger import Ledger
from loadtest.load.tracker import Upload
from tests.client_types import S3Base, answered

if TYPE_CHECKING:
    from types_boto3_s3.type_defs import GetObjectOutputTypeDef, HeadObjectOutputTypeDef

pytestmark = pytest.mark.chaos


class NoSuchKey(Exception):
    pass


class FakeS3(S3Base):
    """Objects in a dict, with the few calls the ledger makes."""

    class exceptions:  # noqa: N801 - boto3's spelling
        NoSuchKey = NoSuchKey

    def __init__(self, objects: dict[tuple[str, str], bytes], etags: dict[str, str]) -> None:
        self.objects, self.etags = objects, etags

    # types-boto3 marks every field of an answer required; S3 sends, and the ledger reads, a few
    def get_object(self, *, Bucket: str, Key: str, **_: object) -> GetObjectOutputTypeDef:  # noqa: N803
        if (Bucket, Key) not in self.objects:
            raise NoSuchKey(Key)
        data = self.objects[(Bucket, Key)]
        body = StreamingBody(io.BytesIO(data), len(data))
        return cast("GetObjectOutputTypeDef", {"Body": body, "ResponseMetadata": answered()})

    def head_object(self, *, Bucket: str, Key: str, **_: object) -> HeadObjectOutputTypeDef:  # noqa: N803
        return cast(
            "HeadObjectOutputTypeDef", {"ETag": f'"{self.etags[Key]}"', "ResponseMetadata": answered()}
        )


UPLOAD = Upload("img1", "uploads/loadtest/img1.jpg", "thumb_320.jpg", 0.0, 1.0)


def _stack(variant_bytes: bytes, listed: bytes, manifest_etag: str = "e1") -> FakeS3:
    manifest = {
        "status": "complete",
        "source": {"etag": manifest_etag},
        "variants": [
            {"key": "processed/loadtest/img1/r1/large.jpg", "sha256": hashlib.sha256(listed).hexdigest()}
        ],
    }
    objects = {
        ("out", "metadata/img1/processing-info.json"): json.dumps(manifest).encode(),
        ("out", "processed/loadtest/img1/r1/large.jpg"): variant_bytes,
    }
    return FakeS3(objects, {UPLOAD.key: "e1"})


def test_a_true_manifest_passes_and_each_kind_of_lie_is_named() -> None:
    assert check_manifest(_stack(b"v1", b"v1"), "out", "in", UPLOAD) is None
    assert "does not hash" in str(check_manifest(_stack(b"v2", b"v1"), "out", "in", UPLOAD))
    assert "the key holds e1" in str(check_manifest(_stack(b"v1", b"v1", "e0"), "out", "in", UPLOAD))
    missing = _stack(b"v1", b"v1")
    del missing.objects[("out", "processed/loadtest/img1/r1/large.jpg")]
    assert "missing" in str(check_manifest(missing, "out", "in", UPLOAD))


def test_renders_are_counted_per_image_from_the_proxy_log(tmp_path: Path) -> None:
    log = tmp_path / "faults.log"
    log.write_text(
        "PUT /imgpipe-output/processed/loadtest/img1/r1/large.jpg?x-id=PutObject s3 -\n"
        "PUT /imgpipe-output/processed/loadtest/img1/r1/small.jpg s3 slowdown\n"
        "PUT /imgpipe-output/processed/loadtest/img1/r2/large.jpg s3 -\n"
        "PUT /imgpipe-output/metadata/img1/processing-info.json s3 -\n"
        "GET /imgpipe-input/uploads/loadtest/img2.jpg s3 -\n"
    )
    renders = renders_from_log(log)
    assert renders == {"img1": 2}
    # a second render is duplicate work, unless the key got a newer upload
    assert ChaosLedger(Ledger(), 0, renders=renders).duplicate_work == 1
    assert ChaosLedger(Ledger(), 0, renders=renders, reuploaded=["img1"]).duplicate_work == 0


def test_the_verdict_needs_exactly_the_poison_quarantined() -> None:
    assert ChaosLedger(Ledger(uploaded=10, complete=8, quarantined=2), poison=2).ok
    assert not ChaosLedger(Ledger(uploaded=10, complete=7, quarantined=3), poison=2).ok
    assert not ChaosLedger(Ledger(uploaded=10, complete=9, quarantined=1, lost=["x"]), poison=1).ok
    assert not ChaosLedger(Ledger(uploaded=10, complete=8, quarantined=2), poison=2, stuck=1).ok
    assert not ChaosLedger(Ledger(uploaded=10, complete=8, quarantined=2), poison=2, inconsistent=["i"]).ok


def test_each_failure_is_named_and_a_run_without_the_kills_asked_for_fails() -> None:
    # Given a run that quarantined a good upload too, and one where no worker was ever killed
    extra = ChaosLedger(Ledger(uploaded=10, complete=7, quarantined=3), poison=2)
    unkilled = ChaosLedger(Ledger(uploaded=10, complete=8, quarantined=2), poison=2, kill_every_s=15, kills=0)
    # Then each says why it failed, in words an operator can act on
    assert extra.failures() == ["quarantined 3, but 2 uploads were poison"]
    assert unkilled.failures() == ["no worker was killed (--kill-every 15): the run ended first"]
    assert ChaosLedger(Ledger(uploaded=10, complete=8, quarantined=2), poison=2, kill_every_s=15, kills=1).ok


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--uploads", "0"], "--uploads must be above 0"),
     (["--faults", "2"], "--faults is a share, from 0 to 1"),
     (["--kill-every", "-3"], "--kill-every must be 0 (no kills) or more"),
     (["--workers", "0"], "--workers must be above 0")],
)  # fmt: skip
def test_a_bad_option_is_refused_before_anything_starts(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from loadtest.chaos.options import parse

    with pytest.raises(SystemExit) as done:
        parse(args)
    assert done.value.code == 2 and needle in capsys.readouterr().err
