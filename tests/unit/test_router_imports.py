"""The router is on every upload's path: its cold start loads neither the image engine nor
aioboto3, it imports nothing of the worker but the event parser, and a missing setting stops its
init naming the variable."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_api_imports import HEAVY

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "IMGPIPE_INTERACTIVE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/work-interactive",
    "IMGPIPE_BULK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/work-bulk",
    "IMGPIPE_ROUTER_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/1/router-dlq",
    "AWS_REGION": "us-east-1",
}


def _import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys, json; import worker.router.handler; print(json.dumps(sorted(sys.modules)))"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IMGPIPE_")} | env
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_importing_the_router_loads_no_engine_and_no_aioboto3() -> None:
    result = _import(ENV)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "worker.router.handler" in loaded
    assert [name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY)] == []


def test_a_missing_setting_fails_the_cold_start_naming_it() -> None:
    result = _import({k: v for k, v in ENV.items() if k != "IMGPIPE_BULK_QUEUE_URL"})
    assert result.returncode != 0
    assert "IMGPIPE_BULK_QUEUE_URL is required" in result.stderr


def test_the_router_imports_nothing_of_the_worker_but_the_event_parser() -> None:
    imported = set()
    for path in (ROOT / "worker" / "router").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    outside = {
        name for name in imported if name.startswith("worker") and not name.startswith("worker.router")
    }
    assert outside == {"worker.events"}
