"""Ctrl-C during `imgpipe upload`, in a process of its own against the moto server: the run says
what it uploaded (file -> imageId -> key) and what it did not, exits 130, and running the same
command again uploads exactly the rest (issue 19, item 13). The command is started with SIGINT
ignored, as a script's background job is (item 12): Ctrl-C must stop it all the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from deploy.local import samples
from tests.child_process import sigint
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FILES = 40
BEFORE_CTRL_C = 6  # uploads that complete before Ctrl-C

# `imgpipe`, with a gate in botocore: every PutObject after the first BEFORE_CTRL_C waits until
# the process has received a signal (Python's wakeup fd says so, before its handler runs), so
# Ctrl-C comes with exactly that many uploads done, however fast or slow the machine is.
GATED_IMGPIPE = """
import os, select, signal, sys, threading
from botocore import handlers
read_end, write_end = os.pipe()
os.set_blocking(write_end, False)
signal.set_wakeup_fd(write_end)
puts, lock, after = [0], threading.Lock(), int(os.environ["GATE_AFTER"])
def gate(request, **_):
    with lock:
        puts[0] += 1
        waits = puts[0] > after
    if waits:
        select.select([read_end], [], [])
handlers.BUILTIN_HANDLERS.append(("before-send.s3.PutObject", gate))
from deploy.cli import main
sys.argv[0] = "imgpipe"
main()
"""


def write_photos(folder: Path) -> list[Path]:
    folder.mkdir()
    return samples.write(
        [
            samples.Sample(f"photo {n:02d}.jpg", samples.jpeg(samples.photo(40 + n, 30, n)))
            for n in range(FILES)
        ],
        folder,
    )


def stored_keys(stack: Stack) -> set[str]:
    listed = stack.s3.list_objects_v2(Bucket=stack.topology.input_bucket, Prefix="uploads/")
    return {obj["Key"] for obj in listed.get("Contents", [])}


def run_upload(stack: Stack, cwd: Path, *extra: str, gated: bool) -> subprocess.Popen[str]:
    command = ["upload", "photos", "--bucket", stack.topology.input_bucket, "--user", "alice", *extra]
    program = ["-c", GATED_IMGPIPE] if gated else ["-m", "deploy.cli"]
    return subprocess.Popen(
        [sys.executable, *program, *command], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "GATE_AFTER": str(BEFORE_CTRL_C)},
        preexec_fn=sigint(signal.SIG_IGN),
    )  # fmt: skip


def interrupted_run(stack: Stack, cwd: Path, *extra: str) -> tuple[int, str, str]:
    """Start the upload, press Ctrl-C once BEFORE_CTRL_C objects are stored; its exit, stdout, stderr."""
    process = run_upload(stack, cwd, *extra, gated=True)
    try:
        deadline = time.monotonic() + 60
        while len(stored_keys(stack)) < BEFORE_CTRL_C and process.poll() is None:
            assert time.monotonic() < deadline, "the upload never got going"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, out, err


def assert_only_the_rest_is_uploaded_again(stack: Stack, tmp_path: Path, first: dict[str, Any]) -> None:
    rerun = run_upload(stack, tmp_path, "--json", gated=False)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    again = json.loads(out)
    status = {u["path"]: u["status"] for u in again["uploaded"]}
    assert status == {
        **{u["path"]: "already uploaded" for u in first["uploaded"]},
        **{n["path"]: "uploaded" for n in first["notUploaded"]},
    }
    assert {u["imageId"] for u in again["uploaded"] if u["status"] == "already uploaded"} == {
        u["imageId"] for u in first["uploaded"]
    }
    # And S3 saw each file once: one upload event per file, none for the files already there
    stack.drain(FILES)
    assert stack.take_all(stack.topology.queue_url, wait_s=1) == []


def test_ctrl_c_prints_the_json_record_and_a_rerun_uploads_only_the_rest(
    stack: Stack, tmp_path: Path
) -> None:
    # Given 40 photos being uploaded, one at a time, with --json
    write_photos(tmp_path / "photos")
    stack.test_event_message()
    # When Ctrl-C is pressed after 6 have been stored
    code, out, err = interrupted_run(stack, tmp_path, "--concurrency", "1", "--json")
    # Then it exits 130 having printed its record: what is stored (the 6, and the one in flight,
    # let finish) with imageId and key, every other file as not uploaded
    assert code == 130, err
    assert "interrupted:" in err and "run the same command again" in err and "Traceback" not in err
    first = json.loads(out)
    assert first["interrupted"] is True
    assert {u["key"] for u in first["uploaded"]} == stored_keys(stack)
    assert BEFORE_CTRL_C <= len(first["uploaded"]) < FILES
    assert sorted(e["path"] for e in [*first["uploaded"], *first["notUploaded"]]) == [
        f"photos/photo {n:02d}.jpg" for n in range(FILES)
    ]
    assert {n["reason"] for n in first["notUploaded"]} == {"not started: the run was stopped"}
    assert all(u["key"] == f"uploads/alice/{u['imageId']}.jpg" for u in first["uploaded"])
    # And running the same command again uploads exactly the rest
    assert_only_the_rest_is_uploaded_again(stack, tmp_path, first)


def test_ctrl_c_prints_the_table_of_what_was_uploaded(stack: Stack, tmp_path: Path) -> None:
    # Given 40 photos being uploaded, two at a time, for a person
    write_photos(tmp_path / "photos")
    # When Ctrl-C is pressed after 6 have been stored
    code, out, err = interrupted_run(stack, tmp_path, "--concurrency", "2")
    # Then the table maps each stored file to its imageId and key, the rest are listed as not
    # uploaded, and the summary and the reason for exit 130 say so
    assert code == 130, err
    stored = stored_keys(stack)
    assert all(key in out for key in stored) and "photos/photo 00.jpg" in out
    assert "not uploaded" in out and "not started: the run was stopped" in out
    assert f"uploaded {len(stored)} files to s3://{stack.topology.input_bucket}/uploads/alice/" in out
    assert f"interrupted: {FILES - len(stored)} of {FILES} files not uploaded" in err
