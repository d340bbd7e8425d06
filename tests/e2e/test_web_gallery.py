"""The web uploader's gallery in a real browser, against the local stack: a photo deleted from the
gallery is gone from S3 too (its upload, every size, and a tombstone in place of its manifest);
another user's session sees none of it, in the gallery or by asking the API for it; and the page
is worked by keyboard alone, every control reached by Tab and named for a screen reader."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from shared.keys import manifest_key
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

TABS = 40  # more than the page has controls: Tab comes round again well within it


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedUploader]:
    build_web()
    with served_uploader(tmp_path_factory.mktemp("web-gallery-logs")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def upload_photos(page: Page, paths: list[Path]) -> list[str]:
    """Pick `paths` and wait until each is in the gallery, complete; their image ids."""
    page.get_by_label("Choose photos").set_input_files(paths)
    gallery = page.get_by_role("list", name="Your images")
    ids = []
    for path in paths:
        uploaded = page.get_by_role("list", name="Uploads").get_by_role("listitem", name=path.name)
        expect(uploaded).to_have_attribute("data-status", "complete", timeout=WORK_MS)
        image_id = uploaded.get_attribute("data-image-id")
        assert image_id
        expect(gallery.locator(f"[data-image-id='{image_id}']")).to_have_attribute(
            "data-status", "complete", timeout=WORK_MS
        )
        ids.append(image_id)
    return ids


def keys_of(served: ServedUploader, image_id: str) -> dict[str, list[str]]:
    """Every object version (and delete marker) in S3 that names `image_id`, by where it is."""
    s3 = served.s3()
    found: dict[str, list[str]] = {}
    for place, bucket, prefix in [
        ("uploads", served.stack.topology.input_bucket, "uploads/"),
        ("processed", served.stack.topology.output_bucket, "processed/"),
    ]:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if image_id in entry["Key"]:
                    found.setdefault(place, []).append(entry["Key"])
    return found


def test_a_photo_deleted_from_the_gallery_is_gone_from_s3(
    served: ServedUploader, browser: Browser, tmp_path: Path
) -> None:
    # Given erin's two photos, in her gallery
    roll = write_roll(tmp_path / "two", 2, seed=20, prefix="erin")
    with user_page(browser) as page:
        sign_in(page, served.url, "erin")
        kept, doomed = upload_photos(page, roll.paths(*roll.photos))
        assert set(keys_of(served, doomed)) == {"uploads", "processed"}, "nothing in S3 to delete"
        # When she opens the second and deletes it, confirming
        gallery = page.get_by_role("list", name="Your images")
        gallery.get_by_role("button", name=f"Open {roll.photos[1]}").click()
        viewer = page.get_by_role("dialog", name=roll.photos[1])
        viewer.get_by_role("button", name="Delete image").click()
        expect(viewer.get_by_text(f"Delete {roll.photos[1]} and all its sizes for good?")).to_be_visible()
        shoot(page, "delete-confirm")
        viewer.get_by_role("button", name="Yes, delete").click()
        # Then the viewer closes, the gallery holds only the first, and its card says deleted
        expect(viewer).to_be_hidden()
        expect(gallery.get_by_role("listitem")).to_have_count(1)
        expect(gallery.locator(f"[data-image-id='{kept}']")).to_be_visible()
        uploads = page.get_by_role("list", name="Uploads")
        expect(uploads.get_by_role("listitem", name=roll.photos[1])).to_have_attribute(
            "data-status", "deleted"
        )
        # And so it stays when the gallery is read again from the API
        page.get_by_role("button", name="Refresh gallery").click()
        expect(gallery.locator(f"[data-image-id='{doomed}']")).to_have_count(0)
        expect(gallery.get_by_role("listitem")).to_have_count(1)
        shoot(page, "deleted")
    # And in S3 nothing of it is left but a tombstone where its manifest was; the other is whole
    assert keys_of(served, doomed) == {}
    stored = served.s3().get_object(Bucket=served.stack.topology.output_bucket, Key=manifest_key(doomed))
    tombstone = json.loads(stored["Body"].read())
    assert (tombstone["status"], tombstone["imageId"]) == ("deleted", doomed)
    assert set(keys_of(served, kept)) == {"uploads", "processed"}


def bearer(page: Page, api_url: str) -> str:
    """The token the page sends the API, seen on the gallery's next request."""
    with page.expect_request(lambda request: request.url.startswith(f"{api_url}/v1/images")) as seen:
        page.get_by_role("button", name="Refresh gallery").click()
    token = seen.value.header_value("authorization")
    assert token and token.startswith("Bearer ")
    return token


def test_another_users_session_never_sees_the_first_users_images(
    served: ServedUploader, browser: Browser, tmp_path: Path
) -> None:
    # Given alice's photo, in her gallery
    roll = write_roll(tmp_path / "alice", 1, seed=30, prefix="alice")
    with user_page(browser) as alice, user_page(browser) as bob:
        sign_in(alice, served.url, "alice")
        (image_id,) = upload_photos(alice, roll.paths(*roll.photos))
        image_url = f"{served.api_url}/v1/images/{image_id}"
        # When bob signs in, in a browser profile of his own
        sign_in(bob, served.url, "bob")
        # Then his gallery is empty
        expect(bob.get_by_text("No images yet.")).to_be_visible()
        expect(bob.get_by_role("list", name="Your images").get_by_role("listitem")).to_have_count(0)
        shoot(bob, "other-user")
        # And asked directly with his session's token, the API has no such image, nor lets him delete it
        as_bob = {"authorization": bearer(bob, served.api_url)}
        assert bob.request.get(image_url, headers=as_bob).status == 404
        assert bob.request.delete(image_url, headers=as_bob).status == 404
        listed = bob.request.get(f"{served.api_url}/v1/images", headers=as_bob).json()
        assert image_id not in json.dumps(listed)
        # While alice's own token still reads it, complete
        as_alice = {"authorization": bearer(alice, served.api_url)}
        assert alice.request.get(image_url, headers=as_alice).json()["status"] == "complete"


def focus_names(page: Page) -> list[str]:
    """Tab from where focus is, round the page; what a screen reader says at each stop."""
    names: list[str] = []
    for _ in range(TABS):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        if focused.count() == 0:
            continue  # the document itself, between the last control and the first
        expect(focused).to_have_accessible_name(re.compile(r"\w"))
        said = re.match(r'- (\w+) "([^"]*)"', focused.aria_snapshot())
        assert said, f"no role and name: {focused.aria_snapshot()}"
        name = f'{said[1]} "{said[2]}"'
        if names and name == names[0]:
            break
        names.append(name)
    return names


def tab_to(page: Page, control: Locator) -> None:
    """Press Tab until `control` has focus (failing if it never does)."""
    for _ in range(TABS):
        if control.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"Tab never reached {control}")


def test_the_main_controls_are_reached_and_worked_by_keyboard(
    served: ServedUploader, browser: Browser, tmp_path: Path
) -> None:
    roll = write_roll(tmp_path / "keys", 1, seed=50, prefix="keys")
    photo = roll.photos[0]
    with user_page(browser) as page:
        # Given the page open, focus in the user name field
        page.goto(served.url)
        expect(page.get_by_label("User name")).to_be_focused()
        shoot(page, "sign-in")
        # When frank types his name and presses Enter
        page.keyboard.type("frank")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Signed in as frank")).to_be_visible()
        # Then focus moves to the page's content, not lost with the sign-in form it was in
        expect(page.get_by_role("main")).to_be_focused()
        # And Tab reaches every control, in reading order, each with a name
        order = focus_names(page)
        wanted = ['link "Skip to content"', 'button "Sign out"', 'button "Choose photos"',
                  'button "Choose a folder"', 'button "Refresh gallery"']  # fmt: skip
        assert set(wanted) <= set(order), f"Tab stops: {order}"
        start = order.index(wanted[0])
        assert [n for n in order[start:] + order[:start] if n in wanted] == wanted, f"Tab stops: {order}"
        # And Enter on "Choose photos" opens the file chooser; the photo chosen there uploads.
        # Playwright has the browser catch the chooser only once this block opens, and does not
        # wait for the browser to agree: a key pressed straight away can overtake that (a busy
        # page runs input first) and open a real chooser the test never sees. The page answers
        # the test's questions in order, so once it has said where focus is, it has agreed.
        choose = page.get_by_label("Choose photos")
        with page.expect_file_chooser() as chooser:
            tab_to(page, choose)
            expect(choose).to_be_focused()
            page.keyboard.press("Enter")
        chooser.value.set_files(roll.paths(photo))
        open_photo = page.get_by_role("button", name=f"Open {photo}")
        expect(open_photo).to_be_visible(timeout=WORK_MS)
        expect(page.get_by_role("list", name="Your images").get_by_role("listitem").first).to_have_attribute(
            "data-status", "complete", timeout=WORK_MS
        )
        # And the gallery's photo opens with Enter; Tab stays in the viewer, Escape closes it
        order = focus_names(page)
        assert f'button "Open {photo}"' in order, f"Tab stops: {order}"
        tab_to(page, open_photo)
        page.keyboard.press("Enter")
        viewer = page.get_by_role("dialog", name=photo)
        expect(viewer.get_by_role("img", name=photo)).to_have_attribute(
            "data-loaded", "true", timeout=WORK_MS
        )
        inside = focus_names(page)
        assert {'button "Close"', 'button "Delete image"'} <= set(inside), (
            f"Tab stops in the viewer: {inside}"
        )
        assert 'button "Sign out"' not in inside, f"Tab left the open viewer: {inside}"
        shoot(page, "keyboard-viewer")
        page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()
        expect(open_photo).to_be_focused()
