"""The web uploader's transfers to S3 under faults, in a real browser against the local stack: the
test stands on the page's way to the input bucket and cuts its POSTs off. Fewer cuts than Uppy's
retries (3) are retried with backoff and never shown; more leave the card offering Retry, which
sends it again; and leaving the page while a transfer is on its way asks first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect

from tests.e2e.web_page import S3Transfers, record_cards, states_of
from tests.e2e.web_support import (
    WORK_MS,
    ServedUploader,
    build_web,
    chromium,
    served_uploader,
    shoot,
    sign_in,
    user_page,
    write_roll,
)

pytestmark = pytest.mark.e2e

UPPY_RETRIES = 3  # @uppy/aws-s3 sends a failed POST again 3 times (0.3, 0.6, 1.2 s apart)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedUploader]:
    build_web()
    with served_uploader(tmp_path_factory.mktemp("web-transfers-logs")) as served:
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


def expect_complete(page: Page, name: str) -> None:
    uploaded = card(page, name)
    expect(uploaded).to_have_attribute("data-status", "complete", timeout=WORK_MS)
    expect(uploaded).to_have_attribute("data-thumbnail", "loaded", timeout=WORK_MS)


def test_a_transfer_cut_off_fewer_times_than_uppy_retries_completes_unnoticed(
    served: ServedUploader, page: Page, tmp_path: Path
) -> None:
    # Given a photo, and S3's connection cut under the first three POSTs
    roll = write_roll(tmp_path / "flaky", 1, seed=70, prefix="flaky")
    photo = roll.photos[0]
    s3 = S3Transfers(served.bucket_url).attach(page)
    s3.cut(UPPY_RETRIES)
    record_cards(page)
    # When gus signs in and picks it
    sign_in(page, served.url, "gus")
    page.get_by_label("Choose photos").set_input_files(roll.paths(photo))
    # Then it is sent on the fourth try and becomes a thumbnail
    expect_complete(page, photo)
    assert (s3.cut_off, s3.posts) == (UPPY_RETRIES, UPPY_RETRIES + 1)
    # And its card never showed a failure, nor the overall bar a failed file
    assert "upload-failed" not in states_of(page, photo), states_of(page, photo)
    overall = page.get_by_role("region", name="Upload progress")
    expect(overall).to_have_attribute("data-progress", "100")
    expect(overall).to_have_attribute("data-files-failed", "0")
    expect(page.get_by_role("button", name="Retry failed uploads")).to_be_hidden()
    shoot(page, "retried")


def test_transfers_cut_off_past_uppys_retries_wait_for_a_click_on_retry(
    served: ServedUploader, page: Page, tmp_path: Path
) -> None:
    # Given two photos, and S3's connection cut under every POST
    roll = write_roll(tmp_path / "offline", 2, seed=80, prefix="cut")
    first, second = roll.photos
    s3 = S3Transfers(served.bucket_url).attach(page)
    s3.cut()
    # When hana signs in and picks them
    sign_in(page, served.url, "hana")
    page.get_by_label("Choose photos").set_input_files(roll.paths(first, second))
    # Then each is tried four times, and its card says the transfer failed and offers Retry
    overall = page.get_by_role("region", name="Upload progress")
    expect(overall).to_have_attribute("data-files-failed", "2", timeout=WORK_MS)
    for name in (first, second):
        expect(card(page, name)).to_have_attribute("data-status", "upload-failed")
        expect(card(page, name)).to_contain_text("the connection failed")
        expect(page.get_by_role("button", name=f"Retry upload of {name}")).to_be_visible()
    assert s3.posts == 2 * (UPPY_RETRIES + 1)
    expect(page.get_by_role("button", name="Retry failed uploads")).to_be_visible()
    shoot(page, "upload-failed")
    # When the connection is back and she clicks Retry on the first card
    s3.release()
    page.get_by_role("button", name=f"Retry upload of {first}").click()
    # Then the first is sent and processed; the second still waits for her
    expect_complete(page, first)
    expect(card(page, second)).to_have_attribute("data-status", "upload-failed")
    expect(overall).to_have_attribute("data-files-failed", "1")
    # And "Retry failed uploads" sends the rest: everything at 100%, nothing failed
    page.get_by_role("button", name="Retry failed uploads").click()
    expect_complete(page, second)
    expect(overall).to_have_attribute("data-progress", "100")
    expect(overall).to_have_attribute("data-files-failed", "0")
    expect(page.get_by_role("button", name="Retry failed uploads")).to_be_hidden()
    shoot(page, "retry-clicked")


def test_leaving_mid_upload_asks_first_and_staying_lets_it_finish(
    served: ServedUploader, page: Page, tmp_path: Path
) -> None:
    # Given ivan's photo on its way to S3, its transfer stalled
    roll = write_roll(tmp_path / "leaving", 1, seed=90, prefix="leaving")
    photo = roll.photos[0]
    s3 = S3Transfers(served.bucket_url).attach(page)
    s3.hold()
    asked: list[str] = []

    def stay(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()  # "Stay on page"

    page.on("dialog", stay)
    sign_in(page, served.url, "ivan")
    page.get_by_label("Choose photos").set_input_files(roll.paths(photo))
    expect(card(page, photo)).to_have_attribute("data-status", "uploading")
    # When he closes the page, then chooses to stay
    with page.expect_event("dialog"):
        page.close(run_before_unload=True)
    # Then the browser asked before leaving, and the page is still there
    expect(page.get_by_role("region", name="Upload progress")).to_be_visible()
    assert asked == ["beforeunload"], asked
    assert not page.is_closed()
    # And once the transfer goes through, closing asks nothing
    s3.release()
    expect_complete(page, photo)
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    assert asked == ["beforeunload"], asked
