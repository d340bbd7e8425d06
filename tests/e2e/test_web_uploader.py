"""The web uploader, built from the project's own files and served by the local stack, in a real
browser: a user signs in, gives the page a folder of photos with a few files that are not photos
(picked, or dropped on the drop zone), watches them upload, and sees each one's outcome: its
thumbnail, its sizes through the page's own srcset, or the reason it was refused."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.web_page import S3Transfers, drop_files, record_cards, states_of
from tests.e2e.web_support import (
    UI_MS,
    WORK_MS,
    Roll,
    ServedUploader,
    build_web,
    chromium,
    served_uploader,
    shoot,
    sign_in,
    user_page,
    write_roll,
)
from worker.api.reasons import reason_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedUploader]:
    build_web()
    with served_uploader(tmp_path_factory.mktemp("web-uploader-logs"), workers=2) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with user_page(browser) as page:
        yield page


def card(page: Page, name: str) -> Locator:
    return page.get_by_role("list", name="Uploads").get_by_role("listitem", name=name, exact=True)


def expect_photo_ready(page: Page, name: str) -> None:
    """Its card ends complete, its ThumbHash painted, its thumbnail really drawn."""
    photo = card(page, name)
    expect(photo).to_have_attribute("data-status", "complete", timeout=WORK_MS)
    expect(photo.locator(".thumb")).to_have_attribute("data-placeholder", "thumbhash")
    expect(photo).to_have_attribute("data-thumbnail", "loaded")
    thumbnail = photo.get_by_role("img", name=f"{name}, thumbnail")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.naturalWidth") > 0, f"{name}: the thumbnail drew nothing"


def expect_failed(page: Page, name: str, error_type: str) -> None:
    """Its card ends failed with the API's reason for `error_type`, in words a person acts on."""
    broken = card(page, name)
    expect(broken).to_have_attribute("data-status", "failed", timeout=WORK_MS)
    expect(broken).to_contain_text(reason_for(error_type))


def expect_sizes_load(page: Page, name: str) -> None:
    """Opened from the gallery, the photo is drawn through its srcset, and every candidate loads."""
    page.get_by_role("list", name="Your images").get_by_role("button", name=f"Open {name}").click()
    viewer = page.get_by_role("dialog", name=name)
    image = viewer.get_by_role("img", name=name)
    expect(image).to_have_attribute("data-loaded", "true", timeout=WORK_MS)
    drawn = image.evaluate("img => ({width: img.naturalWidth, current: img.currentSrc, srcset: img.srcset})")
    candidates = [part.strip().rsplit(" ", 1) for part in drawn["srcset"].split(",")]
    assert drawn["width"] > 0, f"{name}: the viewer drew nothing"
    assert drawn["current"] in {url for url, _ in candidates}, f"{name}: drawn from outside its srcset"
    for url, width in candidates:
        answer = page.request.get(url)
        assert answer.status == 200, f"{name}: {url} answered {answer.status}"
        assert answer.headers["content-type"].startswith("image/")
        assert f"{Image.open(io.BytesIO(answer.body())).width}w" == width, f"{name}: {url} is not {width}"
    expect(viewer.get_by_role("table", name="Sizes").get_by_role("row")).not_to_have_count(0)
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_be_hidden()


def expect_outcomes(page: Page, roll: Roll, photos: tuple[str, ...]) -> None:
    for name in photos:
        expect_photo_ready(page, name)
    expect_failed(page, roll.corrupt, "CorruptImage")
    expect_failed(page, roll.misnamed, "UnsupportedFormat")


def test_a_picked_folder_uploads_and_every_file_shows_its_outcome(
    served: ServedUploader, page: Page, tmp_path: Path
) -> None:
    # Given a folder of eight photos, a JPEG cut short, a text file named .jpg and one named .txt,
    # and S3 taking three uploads, then stalling, so the page can be seen mid-upload
    roll = write_roll(tmp_path / "holiday", 8)
    s3 = S3Transfers(served.bucket_url).attach(page)
    s3.hold(after=3)
    record_cards(page)
    # When alice signs in and picks the folder
    sign_in(page, served.url, "alice")
    page.get_by_label("Choose a folder").set_input_files(roll.folder)
    overall = page.get_by_role("region", name="Upload progress")
    # Then the .txt is refused before any byte is sent, with the API's reason
    refused = card(page, roll.refused)
    expect(refused).to_have_attribute("data-status", "refused")
    expect(refused).to_contain_text("text/plain")
    assert refused.get_attribute("data-image-id") is None
    # And mid-upload the bar shows part of the folder sent, the first files' outcomes beside it
    expect(overall).to_have_attribute("data-files-done", "3", timeout=WORK_MS)
    expect(overall).to_have_attribute("data-files-total", "10")
    expect(page.get_by_role("list", name="Uploads").locator("[data-status=processing]")).to_have_count(
        0, timeout=WORK_MS
    )
    progress = int(overall.get_attribute("data-progress") or 0)
    assert 0 < progress < 100, f"mid-upload, the bar shows {progress}%"
    shoot(page, "uploading", readme="uploading")
    # When S3 takes the rest
    s3.release()
    # Then every file is sent, to 100%, none failed in transit
    expect(overall).to_have_attribute("data-progress", "100", timeout=WORK_MS)
    expect(overall).to_have_attribute("data-files-done", "10")
    expect(overall).to_have_attribute("data-files-failed", "0")
    # And every photo ends with its thumbnail, and the two broken files with the pipeline's reason
    expect_outcomes(page, roll, roll.photos)
    assert "upload-failed" not in states_of(page, roll.photos[-1])
    shoot(page, "uploaded")
    # And the gallery holds all ten, and each photo opens drawn from its srcset, every size loading
    gallery = page.get_by_role("list", name="Your images")
    expect(gallery.get_by_role("listitem")).to_have_count(10, timeout=WORK_MS)
    expect(gallery.locator("[data-status=complete]")).to_have_count(8, timeout=WORK_MS)
    page.get_by_role("heading", name="Your images").evaluate("h => h.scrollIntoView({block: 'start'})")
    shoot(page, "gallery", readme="gallery")
    for name in roll.photos:
        expect_sizes_load(page, name)


def test_files_dropped_on_the_drop_zone_upload_like_picked_ones(
    served: ServedUploader, page: Page, tmp_path: Path
) -> None:
    # Given two photos, a cut-off JPEG and a text file named .jpg on the desktop
    roll = write_roll(tmp_path / "desktop", 2, seed=40, prefix="dropped")
    # When carol signs in and drags them onto the drop zone
    sign_in(page, served.url, "carol")
    drop_files(page.locator("#dropzone"), roll.paths(*roll.photos, roll.corrupt, roll.misnamed))
    # Then all four are sent, to 100%
    overall = page.get_by_role("region", name="Upload progress")
    expect(overall).to_have_attribute("data-progress", "100", timeout=WORK_MS)
    expect(overall).to_have_attribute("data-files-done", "4", timeout=UI_MS)
    # And the photos end with their thumbnails, the others with the pipeline's reason
    expect_outcomes(page, roll, roll.photos)
    shoot(page, "dropped")
