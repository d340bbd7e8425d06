"""Helpers for the web uploader's browser tests: build the page, serve it on a local stack, launch
Debian's chromium under Playwright (no browser download: its own build is never fetched), sign a
user in, write a folder of photos, and save what the user saw at each state."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from deploy.local import samples
from deploy.local.stack import LocalStack
from deploy.local.web import DIST, WebServerProcess, reserve_web
from tests.e2e.support import require_chromium

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"
README_IMAGES = ROOT / "docs" / "images"
README_FIGURES = "IMGPIPE_README_FIGURES"  # =1: the tests also write the README's two figures
# As tests/e2e/support.run_chromium starts it: this machine's closed network refuses the rest
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
BUILD_TIMEOUT_S = 300
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
UI_MS = 30_000  # what the page shows at once, given a busy 2-core machine
WORK_MS = 180_000  # what waits on the workers (a queue behind other tests' work)


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

    @property
    def api_url(self) -> str:
        """The client API's base URL (the front door)."""
        return self.stack.environment()["IMGPIPE_API_URL"]

    @property
    def bucket_url(self) -> str:
        """Where the page POSTs its uploads: the input bucket on the moto server."""
        return f"{self.stack.server.endpoint}/{self.stack.topology.input_bucket}"

    def s3(self) -> S3Client:
        """boto3's S3 client on the stack, to look behind the page."""
        return self.stack.session.client("s3")


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


@contextmanager
def chromium() -> Iterator[Browser]:
    """One headless chromium for a module's tests; each test opens its own context (a fresh profile)."""
    # Waits are on what the user sees; on a busy machine even a repaint can take seconds.
    expect.set_options(timeout=UI_MS)
    with sync_playwright() as playwright:
        browser: Browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def user_page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context; fails the test if the page threw an uncaught error."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(UI_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"the page threw: {errors}"


def sign_in(page: Page, url: str, user: str) -> None:
    """Open the page and sign in as `user` (locally, any name signs in)."""
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()


def shoot(page: Page, state: str, readme: str | None = None) -> Path:
    """Save what the user sees now as out/screenshots/web-STATE.png; with IMGPIPE_README_FIGURES=1
    and `readme`, also as the README's figure docs/images/web-README.jpg (the viewport, small)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"web-{state}.png"
    page.screenshot(path=str(path), full_page=True)
    if readme and os.environ.get(README_FIGURES) == "1":
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_IMAGES / f"web-{readme}.jpg"), type="jpeg", quality=80)
    return path


@dataclass(frozen=True)
class Roll:
    """A folder as a user would pick it: photos, and the files that cannot become one."""

    folder: Path
    photos: tuple[str, ...]
    corrupt: str  # a JPEG cut short
    misnamed: str  # a text file named .jpg: sent (its name says image), refused by the pipeline
    refused: str  # a text file named .txt: refused by the API before any byte is sent

    def paths(self, *names: str) -> list[Path]:
        """The files named `names` in the folder."""
        return [self.folder / name for name in names]


# Landscape, portrait and square, as a camera roll has them; small, so the workers are quick
SHAPES = [(960, 640), (640, 960), (1024, 768), (800, 800), (1200, 675), (720, 960)]


def write_roll(folder: Path, count: int, seed: int = 1, prefix: str = "photo") -> Roll:
    """`count` generated photos plus a cut-off JPEG, a text file named .jpg and one named .txt."""
    photos = [
        samples.Sample(
            f"{prefix}-{i + 1:02d}.jpg", samples.jpeg(samples.photo(*SHAPES[i % len(SHAPES)], seed + i))
        )
        for i in range(count)
    ]
    cut = samples.jpeg(samples.photo(900, 600, seed + 100))
    bad = [
        samples.Sample(f"{prefix}-cut.jpg", cut[: len(cut) // 2]),
        samples.Sample(f"{prefix}-notes.jpg", b"shopping list: milk, eggs\n"),
        samples.Sample(f"{prefix}-readme.txt", b"not a photo\n"),
    ]
    samples.write([*photos, *bad], folder)
    return Roll(folder, tuple(p.name for p in photos), *(b.name for b in bad))
