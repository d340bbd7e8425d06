"""The demo's contact sheet in a real browser: every image decodes, and the page renders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import DemoRun
from tests.e2e.support import VARIANT_NAMES, PageFacts, require_chromium, run_chromium

pytestmark = pytest.mark.e2e

WINDOW = (1280, 2000)


@pytest.fixture(scope="module")
def browser() -> Path:
    return require_chromium()


def _dump_dom(browser: Path, scratch: Path, page: Path) -> PageFacts:
    return PageFacts(run_chromium(browser, scratch, "--dump-dom", page.as_uri()))


def test_every_image_on_the_sheet_loads(browser: Path, demo_run: DemoRun, tmp_path: Path) -> None:
    facts = _dump_dom(browser, tmp_path, demo_run.result.page)
    assert facts.images == len(demo_run.inputs.good) * len(VARIANT_NAMES)
    assert facts.counter("data-loaded") == facts.images
    assert facts.counter("data-broken") == 0


def test_a_missing_variant_file_is_reported_broken(browser: Path, demo_run: DemoRun, tmp_path: Path) -> None:
    out = shutil.copytree(demo_run.out, tmp_path / "out", ignore=shutil.ignore_patterns("logs"))
    entry = next(e for e in demo_run.result.entries if e.filename == demo_run.inputs.good[0])
    (out / entry.image_id / entry.files["medium"]).unlink()
    facts = _dump_dom(browser, tmp_path, out / "index.html")
    assert facts.counter("data-broken") == 1
    assert facts.counter("data-loaded") == facts.images - 1


def test_screenshot_shows_a_rendered_page(browser: Path, demo_run: DemoRun, tmp_path: Path) -> None:
    shot = tmp_path / "sheet.png"
    run_chromium(
        browser,
        tmp_path,
        f"--screenshot={shot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        demo_run.result.page.as_uri(),
    )
    assert shot.is_file()
    with Image.open(shot) as image:
        assert image.format == "PNG"
        assert image.width == WINDOW[0]
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert colours is not None
    assert len(colours) > 500, f"only {len(colours)} distinct colours: a blank or text-only page"
