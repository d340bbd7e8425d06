"""`out/index.html`: every upload of a demo run, its variants with sizes, or the reason it failed.

Built from what the client API answered for each image (`GET /v1/images/{id}`), as an app
would show it, and the variant files the demo downloaded through the URLs it gave.

Self-contained (no external CSS, fonts or scripts), so it opens from disk in any browser. A small
script marks on <body> how many images loaded and how many broke, which the browser test reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { font-size: 20px; } .summary { color: #555; margin-bottom: 16px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 12px 16px; margin: 12px 0; }
.card h2 { font-size: 15px; margin: 0 0 8px; } .card.failed { border-color: #d33; }
.variants { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; }
figure { margin: 0; } figure img { display: block; max-width: 240px; max-height: 180px;
  background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0 / 16px 16px; }
figcaption, .meta { font-size: 12px; color: #666; } .reason { color: #b00; font-family: monospace; }
"""

SCRIPT = """
window.addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).length;
});
"""


@dataclass(frozen=True)
class Entry:
    """One upload: its file name, the API's answer for it (None if none), and the files saved."""

    filename: str
    image_id: str
    image: dict[str, Any] | None  # GET /v1/images/{imageId}'s body
    reason: str | None = None  # why there is no answer, when there is none
    files: dict[str, str] = field(default_factory=dict)  # variant name -> file under out/<imageId>/
    waited_s: float | None = None  # from the end of the upload to the final status, as the client saw

    @property
    def status(self) -> str:
        """`complete`, `failed`, `deleted` or `pending` as the API said; `failed` with no answer."""
        return str(self.image["status"]) if self.image else "failed"

    @property
    def why(self) -> str:
        """What went wrong, in the API's words (type: reason), or the demo's own reason."""
        error = (self.image or {}).get("error")
        if error:
            return f"{error['type']}: {error['reason']} ({error['detail']})"
        return self.reason or "no result"


def write(out: Path, entries: list[Entry], elapsed_s: float) -> Path:
    """Write `out/index.html`; variant files are expected at `out/<imageId>/<file name>`."""
    done = sum(1 for e in entries if e.status == "complete")
    cards = "\n".join(_card(entry) for entry in entries)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imgpipe demo</title><style>{STYLE}</style></head>
<body><h1>imgpipe demo</h1>
<p class="summary">{done} of {len(entries)} uploads processed, {len(entries) - done} refused,
in {elapsed_s:.1f} s through the client API, S3 → SNS → SQS → worker on the local stack.</p>
{cards}
<script>{SCRIPT}</script></body></html>
"""
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def _card(entry: Entry) -> str:
    title = f"<h2>{escape(entry.filename)} <span class='meta'>{escape(entry.image_id)}</span></h2>"
    if entry.status != "complete" or entry.image is None:
        return f"<div class='card failed'>{title}<p class='reason'>{escape(entry.why)}</p></div>"
    figures = "".join(
        f"<figure><img src='{escape(entry.image_id)}/{escape(entry.files.get(v['name'], ''))}'"
        f" alt='{escape(v['name'])}'><figcaption>{escape(v['name'])} · {v['width']}×{v['height']}"
        f" · {v['bytes'] / 1024:.0f} KB · {escape(v['format'])}</figcaption></figure>"
        for v in entry.image["variants"]
    )
    waited = f"ready {entry.waited_s:.1f} s after its upload" if entry.waited_s is not None else ""
    meta = f"<p class='meta'>{escape(waited)}</p>"
    return f"<div class='card'>{title}{meta}<div class='variants'>{figures}</div></div>"
