"""One demo run shared by every end-to-end test that only reads its results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.local import demo
from tests.e2e.support import DemoInputs, write_demo_inputs

DEMO_WORKERS = 2


@dataclass(frozen=True)
class DemoRun:
    """A finished `deploy.local.demo.run` with its inputs and how long it took."""

    inputs: DemoInputs
    out: Path
    result: demo.DemoResult
    wall_s: float


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run the whole local pipeline once on small generated inputs (read-only for the tests)."""
    root = tmp_path_factory.mktemp("demo")
    inputs = write_demo_inputs(root / "inputs")
    out = root / "out"
    started = time.monotonic()
    result = demo.run(inputs.files, out, workers=DEMO_WORKERS)
    return DemoRun(inputs, out, result, time.monotonic() - started)
