"""Helpers for the web uploader's browser tests: build the page, serve it on a local stack, and
launch Debian's chromium under Playwright (no browser download: its own build is never fetched)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.local.stack import LocalStack
from deploy.local.web import DIST, WebServerProcess, reserve_web
from tests.e2e.support import require_chromium

ROOT = Path(__file__).resolve().parents[2]
# As tests/e2e/support.run_chromium starts it: this machine's closed network refuses the rest
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
BUILD_TIMEOUT_S = 300


def build_web() -> Path:
    """`make web` (npm ci from the lockfile, then the build; a no-op when nothing changed)."""
    command = ["make", "--no-print-directory", "web"]
    built = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert built.returncode == 0, f"make web failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
    assert (DIST / "index.html").is_file(), f"make web left no {DIST / 'index.html'}"
    return DIST


@dataclass(frozen=True)
class ServedUploader:
    """A local stack with the page served beside it."""

    stack: LocalStack
    url: str


@contextmanager
def served_uploader(log_dir: Path, workers: int = 1) -> Iterator[ServedUploader]:
    """A local stack on free ports and the built page on one more, as `imgpipe local up` serves it."""
    web = WebServerProcess(reserve_web(None), log=log_dir / "web.log")
    try:
        with LocalStack(workers=workers, log_dir=log_dir) as stack:
            environment = stack.environment()
            web.start(stack.user_pool, environment["IMGPIPE_API_URL"], {**os.environ, **environment})
            yield ServedUploader(stack, web.url)
    finally:
        web.stop()


def launch(playwright: Any) -> Any:
    """Headless Debian chromium under Playwright (a skip, or a failure under IMGPIPE_REQUIRE_BROWSER=1,
    when chromium is missing)."""
    browser = require_chromium()
    try:
        return playwright.chromium.launch(executable_path=str(browser), args=CHROMIUM_ARGS)
    except Exception as exc:  # Playwright's own error type differs across versions
        pytest.fail(f"chromium at {browser} did not start under Playwright: {exc}")
