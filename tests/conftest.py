"""Suite-wide pytest configuration."""

from __future__ import annotations

import pytest

_MARKERS = {
    "unit": "fast hermetic tests of one module (no network, no services)",
    "integration": "tests that talk to local service emulators",
    "e2e": "end-to-end tests against a deployed stack",
}


def pytest_configure(config: pytest.Config) -> None:
    # pyproject.toml may register these already; only add the ones it does not declare.
    declared = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    for name, description in _MARKERS.items():
        if name not in declared:
            config.addinivalue_line("markers", f"{name}: {description}")
