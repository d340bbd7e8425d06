"""The client API's cold start is a user waiting: its entry point loads neither the image engine
nor aioboto3 and its aiohttp, and it is built from worker/api/ and shared/ alone."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# What the worker needs and the API must not pay for at import.
HEAVY = (
    "pyvips",
    "pi_heif",
    "simplejpeg",
    "numpy",
    "PIL",
    "aioboto3",
    "aiobotocore",
    "aiohttp",
    "worker.engine",
)
ENV = {"IMGPIPE_INPUT_BUCKET": "in-bucket", "IMGPIPE_OUTPUT_BUCKET": "out-bucket", "AWS_REGION": "us-east-1"}


def _loaded_after_import(module: str) -> list[str]:
    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPIPE_")} | ENV
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_importing_the_entry_point_loads_no_engine_and_no_aioboto3() -> None:
    # Given a fresh interpreter configured as the API function is
    # When it imports the Lambda entry point
    loaded = _loaded_after_import("worker.api.handler")
    # Then the entry point is there, and nothing heavy came with it
    assert "worker.api.handler" in loaded
    heavy = [name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY)]
    assert heavy == []


def test_the_check_sees_a_heavy_import() -> None:
    # The same check on the worker's entry point finds the engine: it would catch a regression.
    loaded = _loaded_after_import("worker.handler")
    assert "worker.engine" in loaded and "aioboto3" in loaded


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_api_package_imports_nothing_of_the_worker_outside_it() -> None:
    # The API shares shared/ with the worker, never the worker's own modules (its pipeline,
    # storage or engine), which would bring aioboto3 or libvips with them.
    offending = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imports(path) if name.startswith("worker") and not name.startswith("worker.api")
        )
        for path in sorted((ROOT / "worker" / "api").rglob("*.py"))
    }
    assert {path: names for path, names in offending.items() if names} == {}
