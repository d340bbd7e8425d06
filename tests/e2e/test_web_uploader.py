"""The web uploader, built from the project's own files and served by the local stack, in a real
browser: a user signs in, picks photos, and sees each one's outcome on its card (a smoke test;
the full scenario is the browser suite's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from deploy.local import samples
from tests.e2e.web_support import build_web, launch, served_uploader

pytestmark = pytest.mark.e2e

WAIT_MS = 90_000


def sign_in(page: Page, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible()


def test_the_built_page_signs_in_uploads_and_shows_every_outcome(tmp_path: Path) -> None:
    # Given the page built by `make web` and served beside a local stack, and three files: a photo,
    # a cut-off JPEG and a text file
    build_web()
    good = samples.jpeg(samples.photo(640, 480, 1))
    cut = samples.jpeg(samples.photo(600, 400, 2))
    files = samples.write(
        [samples.Sample("photo.jpg", good), samples.Sample("cut.jpg", cut[: len(cut) // 2]),
         samples.Sample("notes.txt", b"not a photo\n")],
        tmp_path / "files",
    )  # fmt: skip
    with served_uploader(tmp_path / "logs") as served, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # When alice signs in and picks the three files
        sign_in(page, served.url, "alice")
        page.get_by_label("Choose photos").set_input_files([str(f) for f in files])
        uploads = page.get_by_role("list", name="Uploads")
        # Then the text file is refused with the API's reason, and never got an image id
        refused = uploads.get_by_role("listitem", name="notes.txt")
        expect(refused).to_have_attribute("data-status", "refused")
        expect(refused).to_contain_text("text/plain")
        assert refused.get_attribute("data-image-id") is None
        # And the other two are sent, to 100%
        expect(page.locator("#overall")).to_have_attribute("data-progress", "100", timeout=WAIT_MS)
        expect(page.locator("#overall")).to_have_attribute("data-files-done", "2")
        # And the photo's card ends complete, its ThumbHash painted and its thumbnail loaded
        photo = uploads.get_by_role("listitem", name="photo.jpg")
        expect(photo).to_have_attribute("data-status", "complete", timeout=WAIT_MS)
        expect(photo.locator(".thumb")).to_have_attribute("data-placeholder", "thumbhash")
        expect(photo).to_have_attribute("data-thumbnail", "loaded", timeout=WAIT_MS)
        # And the cut-off JPEG's card says why the pipeline failed it
        broken = uploads.get_by_role("listitem", name="cut.jpg")
        expect(broken).to_have_attribute("data-status", "failed", timeout=WAIT_MS)
        expect(broken).to_contain_text("cut short")
        page.screenshot(path=str(tmp_path / "uploader.png"), full_page=True)
        # And bob, signed in elsewhere, sees none of alice's images
        other = browser.new_page()
        sign_in(other, served.url, "bob")
        expect(other.get_by_role("list", name="Your images").get_by_role("listitem")).to_have_count(0)
        expect(other.get_by_text("No images yet.")).to_be_visible()
        browser.close()
    assert errors == []
