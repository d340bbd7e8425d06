"""What the uploader's browser tests do on the page beyond Playwright's own calls: drop files on
the drop zone as a drag from the desktop would, record every state each card went through (the
page's own data attributes, timed by the page's clock), and stand between the page and S3 to cut
off, hold or pass its uploads."""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, Route, expect

# A DataTransfer holding the files, as the browser builds one for a drag from the desktop
_TRANSFER = """files => {
  const transfer = new DataTransfer()
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0))
    transfer.items.add(new File([bytes], f.name, { type: f.type, lastModified: Date.now() }))
  }
  return transfer
}"""


def drop_files(zone: Locator, files: Sequence[Path]) -> None:
    """Drag `files` over the drop zone (it lights up), then drop them."""
    payload = [
        {
            "name": f.name,
            "type": mimetypes.guess_type(f.name)[0] or "",
            "data": base64.b64encode(f.read_bytes()).decode(),
        }
        for f in files
    ]
    transfer = zone.page.evaluate_handle(_TRANSFER, payload)
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(zone).to_have_attribute("data-dragging", "true")
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    expect(zone).to_have_attribute("data-dragging", "false")


# Installed before the page's own script: every change of a card's status or thumbnail and of the
# overall progress, with performance.now(); and when files were picked or dropped.
_RECORDER = """(() => {
  const log = []
  window.__imgpipeLog = log
  const watched = ['data-status', 'data-thumbnail', 'data-progress']
  const watch = () => new MutationObserver((records) => {
    const at = performance.now()
    for (const r of records) {
      const el = r.target
      const who = el.dataset.fileName ?? el.id
      if (r.attributeName === 'data-progress' && el.id !== 'overall') continue
      log.push([at, who, r.attributeName, el.getAttribute(r.attributeName)])
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: watched })
  for (const type of ['change', 'drop']) {
    document.addEventListener(type, () => log.push([performance.now(), '', 'given', type]), true)
  }
  if (document.body) watch()
  else document.addEventListener('DOMContentLoaded', watch)
})()"""


@dataclass(frozen=True)
class Change:
    """One attribute change the page made: when (ms, the page's clock), on what, to what."""

    at_ms: float
    who: str  # a card's file name, "overall", or "" for files given to the page
    attribute: str
    value: str | None


def record_cards(page: Page) -> None:
    """Record every card's states from the next navigation on (`changes` reads them)."""
    page.add_init_script(_RECORDER)


def changes(page: Page) -> list[Change]:
    """Everything recorded so far, in order."""
    return [Change(*row) for row in page.evaluate("() => window.__imgpipeLog")]


def states_of(page: Page, name: str) -> list[str]:
    """Every status the card of `name` showed, in order."""
    return [c.value or "" for c in changes(page) if c.who == name and c.attribute == "data-status"]


@dataclass
class S3Transfers:
    """Stands between the page and the input bucket: each POST is passed, cut off (the connection
    reset under it) or held until `release`."""

    bucket_url: str
    mode: str = "pass"  # pass | cut | hold
    cut_left: int = 0  # in "cut" mode: how many more to cut (-1: all)
    pass_left: int = 0  # in "hold" mode: how many more to pass before holding
    posts: int = 0
    cut_off: int = 0
    held: list[Route] = field(default_factory=list)

    def attach(self, page: Page) -> S3Transfers:
        """Route the page's requests to the bucket through this."""
        page.route(re.compile(rf"^{re.escape(self.bucket_url)}/?(\?.*)?$"), self._handle)
        return self

    def cut(self, count: int = -1) -> None:
        """Cut off the next `count` POSTs (-1: every one until told otherwise)."""
        self.mode, self.cut_left = "cut", count

    def hold(self, after: int = 0) -> None:
        """Pass the next `after` POSTs, then hold every one, as a stalled connection would."""
        self.mode, self.pass_left = "hold", after

    def release(self) -> None:
        """Pass every POST from now on, and let the held ones go."""
        self.mode = "pass"
        held, self.held = self.held, []
        for route in held:
            route.continue_()

    def _handle(self, route: Route, request: Any) -> None:
        if request.method != "POST":
            route.continue_()
            return
        self.posts += 1
        if self.mode == "hold" and self.pass_left > 0:
            self.pass_left -= 1
            route.continue_()
        elif self.mode == "hold":
            self.held.append(route)
        elif self.mode == "cut" and self.cut_left != 0:
            self.cut_left -= 1
            self.cut_off += 1
            route.abort("connectionreset")
        else:
            route.continue_()
