"""Lower layers never import upper ones: worker/ and shared/ know nothing of deploy/ or loadtest/,
and deploy/ nothing of loadtest/ (STYLE.md, convention 13)."""

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
