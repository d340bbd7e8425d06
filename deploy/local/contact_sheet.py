"""`out/index.html`: every upload of a demo run, its variants with sizes and timings, or its reason.

Self-contained (no external CSS, fonts or scripts), so it opens from disk in any browser. A small
script marks on <body> how many images loaded and how many broke, which the browser test reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from shared.manifest import Manifest

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
    """One upload: its original file name and its manifest (None if it never got one)."""

    filename: str
    image_id: str
    manifest: Manifest | None
    reason: str | None = None  # why there is no manifest, when there is none


def write(out: Path, entries: list[Entry], elapsed_s: float) -> Path:
    """Write `out/index.html`; variant files are expected at `out/<imageId>/<file name>`."""
    done = sum(1 for e in entries if e.manifest is not None and e.manifest.status == "complete")
    cards = "\n".join(_card(entry) for entry in entries)
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>imgpipe demo</title><style>{STYLE}</style></head>
<body><h1>imgpipe demo</h1>
<p class="summary">{done} of {len(entries)} uploads processed, {len(entries) - done} refused,
in {elapsed_s:.1f} s through S3 → SNS → SQS → worker on the local stack.</p>
{cards}
<script>{SCRIPT}</script></body></html>
"""
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def _card(entry: Entry) -> str:
    title = f"<h2>{escape(entry.filename)} <span class='meta'>{escape(entry.image_id)}</span></h2>"
    manifest = entry.manifest
    if manifest is None or manifest.status != "complete":
        error = manifest.error if manifest is not None else None
        reason = f"{error.type}: {error.message}" if error else (entry.reason or "no result")
        return f"<div class='card failed'>{title}<p class='reason'>{escape(reason)}</p></div>"
    source = manifest.source
    figures = "".join(
        f"<figure><img src='{escape(manifest.image_id)}/{escape(Path(v.key).name)}' alt='{escape(v.name)}'>"
        f"<figcaption>{escape(v.name)} · {v.width}×{v.height} · {v.bytes / 1024:.0f} KB · {v.format}"
        f"</figcaption></figure>"
        for v in manifest.variants
    )
    timings = ", ".join(f"{name} {ms:.0f} ms" for name, ms in manifest.timings_ms.items())
    meta = (
        f"<p class='meta'>source {escape(source.format or '?')} {source.width}×{source.height}, "
        f"{(source.bytes or 0) / 1024:.0f} KB, orientation {source.orientation} · {escape(timings)}</p>"
    )
    return f"<div class='card'>{title}{meta}<div class='variants'>{figures}</div></div>"
