"""The hostile corpus through the worker's render step: every file ends complete or quarantined
with a reason, in a subprocess under RLIMIT_AS and a time limit; no crash, hang or overrun."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from loadtest.hostile.corpus import corpus
from loadtest.hostile.sandbox import BUDGET_MB

pytestmark = pytest.mark.chaos

FORMATS = {"jpeg", "png", "webp", "gif", "tiff", "avif", "heif", "heic"}


def _endings(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "endings.jsonl").read_text().splitlines()]


def test_every_hostile_file_ends_complete_or_quarantined_within_budget(tmp_path: Path) -> None:
    # Given the generated corpus: 300+ files from every accepted format, bombs for each
    files = corpus()
    assert len(files) >= 300
    kinds = Counter(f.kind for f in files)
    assert {"bitflip", "truncated", "dims", "magic", "metadata", "disguised", "bomb"} <= set(kinds)
    assert {f.name.split("__")[1] for f in files if f.kind == "bomb"} >= FORMATS
    assert {f.name.split("__")[1] for f in files if f.kind == "valid"} == FORMATS
    # When each is processed in a subprocess of its own under the address-space limit
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.hostile", "--out", str(tmp_path), "--time-limit", "30"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    # Then the run reports no defect, and every file has an ending
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    endings = {str(e["name"]): e for e in _endings(tmp_path)}
    assert set(endings) == {f.name for f in files}
    for item in files:
        ending = endings[item.name]
        assert ending["outcome"] in ("complete", "quarantined"), ending
        if ending["outcome"] == "quarantined":
            assert ending["error_type"] and ending["message"], ending
        # And where only one ending is right (valid files, bombs, disguised files), it is that one
        if item.expect is not None:
            got = ending["outcome"] if ending["outcome"] == "complete" else ending["error_type"]
            assert got == item.expect, ending
        assert float(ending["peak_mb"]) < BUDGET_MB, ending  # type: ignore[arg-type]


GUARD = """
import sys, time
from pathlib import Path
from worker import engine
from loadtest.hostile import sandbox as hostile_run

def misbehave(data, *args, **kwargs):
    if data == b"crash":
        raise RuntimeError("boom")
    if data == b"hang":
        time.sleep(60)
    if data == b"hog":
        return bytearray(3 * 1024**3)
    return None

engine.render = misbehave
paths = []
for name in ("crash", "hang", "hog"):
    path = Path(sys.argv[1]) / name
    path.write_bytes(name.encode())
    paths.append(path)
for ending in hostile_run.run_all(paths, time_limit_s=3):
    print(ending.name, ending.outcome, ending.error_type)
"""


def test_the_runner_reports_a_crash_a_hang_and_a_memory_overrun(tmp_path: Path) -> None:
    # Given a render step that raises, sleeps past the limit, or allocates past the budget
    script = textwrap.dedent(GUARD)
    # When the runner processes one file of each
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    # Then each is reported as the defect it is, not as an ending that passes
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["crash crash RuntimeError", "hang hang None",
                                           "hog over budget MemoryError"]  # fmt: skip
