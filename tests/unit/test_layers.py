"""Lower layers never import upper ones: worker/ and shared/ know nothing of deploy/ or loadtest/,
and deploy/ nothing of loadtest/ (STYLE.md, convention 13); inside worker/ and deploy/ each
concern imports only what is below it, and nothing shipped imports the tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "worker": {"deploy", "loadtest"},
    "shared": {"deploy", "loadtest", "worker"},
    "deploy": {"loadtest"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[layer])
        for path in (ROOT / layer).rglob("*.py")
    }
    assert {path: names for path, names in offending.items() if names} == {}


IMAGE_LIBRARIES = {"pyvips", "pi_heif", "pillow_heif", "simplejpeg"}


def test_only_the_engine_package_imports_an_image_library() -> None:
    # STYLE.md convention 2: nothing but worker/engine/ knows which image library is underneath
    offending = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & IMAGE_LIBRARIES)
        for layer in ("worker", "shared")
        for path in (ROOT / layer).rglob("*.py")
        if (ROOT / "worker" / "engine") not in path.parents
    }
    assert {path: names for path, names in offending.items() if names} == {}


# Inside the folders too: a folder's concern decides what it may know (issue 20).
PIPELINE = {
    f"worker.{name}"
    for name in ("handler", "records", "pipeline", "rendering", "outputs", "commit", "failures",
                 "failure_record", "dlq_message", "answers", "announce", "job", "runtime", "aws", "storage",
                 "aws_errors", "events", "deadline", "gate")
}  # fmt: skip
SWEEP = {"worker.orphans", "worker.sweep"}
INNER_RULES: dict[str, tuple[list[str], set[str]]] = {
    # the format knowledge in bytes is below the engine and the pipeline alike
    "worker/formats": (
        ["worker/formats"],
        {"worker.engine"} | PIPELINE | SWEEP,
    ),
    # the engine turns bytes into variants; what a record or S3 is, it does not know
    "worker/engine": (["worker/engine"], PIPELINE | SWEEP),
    # the scheduled sweep's cold start loads neither libvips nor the pipeline
    "the sweep": (["worker/sweep.py", "worker/orphans"], {"worker.engine"} | PIPELINE),
    # the commands are the top of deploy/: what they call never calls back up
    "deploy/ops": (["deploy/ops"], {"deploy.cli"}),
    "deploy/local": (["deploy/local"], {"deploy.cli"}),
    # the client API's cold start is a user waiting: nothing of the pipeline, the engine or the router
    "worker/api": (["worker/api"], {"worker.engine", "worker.formats", "worker.router"} | PIPELINE | SWEEP),
    # the router only reads events and moves them: no engine, no pipeline beyond the event parser
    "worker/router": (
        ["worker/router"],
        {"worker.engine", "worker.formats", "worker.api"} | (PIPELINE - {"worker.events"}) | SWEEP,
    ),
    # what an app does: HTTP and the upload rules, no AWS operator code, no local stack
    "deploy/client": (["deploy/client"], {"deploy.cli", "deploy.ops", "deploy.local", "worker"}),
    # each load tool stands alone, except chaos, which drives the load test's clients and the hostile files
    "loadtest/bench": (["loadtest/bench"], {"loadtest.load", "loadtest.chaos", "loadtest.hostile"}),
    "loadtest/hostile": (["loadtest/hostile"], {"loadtest.load", "loadtest.chaos", "loadtest.bench"}),
    "loadtest/load": (["loadtest/load"], {"loadtest.chaos", "loadtest.hostile"}),
}


def _imported_modules(path: Path) -> set[str]:
    """Every project module `path` imports, `from worker.formats import jpeg` as `worker.formats.jpeg`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _files(places: list[str]) -> list[Path]:
    paths = [ROOT / place for place in places]
    return [p for path in paths for p in ([path] if path.is_file() else sorted(path.rglob("*.py")))]


@pytest.mark.parametrize("rule", sorted(INNER_RULES))
def test_inside_a_folder_each_concern_imports_only_below_it(rule: str) -> None:
    places, forbidden = INNER_RULES[rule]
    files = _files(places)
    assert files, f"{rule}: no file found at {places}"
    offending = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imported_modules(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        for path in files
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_nothing_shipped_imports_the_tests() -> None:
    offending = [
        str(path.relative_to(ROOT))
        for layer in ("worker", "shared", "deploy", "loadtest")
        for path in (ROOT / layer).rglob("*.py")
        if "tests" in _imported_packages(path)
    ]
    assert offending == []
