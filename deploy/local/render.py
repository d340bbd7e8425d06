"""`imgpipe render`: local files to their variants with the engine alone, no AWS involved.

Each input gets a folder of its own under the output folder, named after its path relative to
the inputs' common folder (`a/photo.jpg` and `b/photo.jpg` become `out/a/photo/` and
`out/b/photo/`), so two inputs never write over each other's variants; where two files differ
only in suffix (`photo.jpg`, `photo.png`) the suffix is kept in the name (`photo_jpg/`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import ImgpipeError
from shared.keys import EXTENSIONS
from shared.limits import Limits
from shared.variants import VariantSpec


@dataclass(frozen=True)
class Written:
    """One variant file on disk."""

    name: str
    file: Path
    format: str
    width: int
    height: int
    bytes: int


@dataclass(frozen=True)
class Outcome:
    """One input: the variants written into `folder`, or why there are none."""

    path: Path
    folder: Path
    variants: list[Written] = field(default_factory=list)
    error_type: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()  # what the decoder noticed that did not stop the render

    @property
    def ok(self) -> bool:
        """True when every variant was written."""
        return self.error_type is None

    def to_json(self) -> dict[str, Any]:
        """The `files[]` entry of `imgpipe render --json`."""
        return {
            "path": str(self.path),
            "status": "rendered" if self.ok else "failed",
            "folder": str(self.folder) if self.ok else None,
            "variants": [
                {
                    "name": v.name,
                    "file": str(v.file),
                    "format": v.format,
                    "width": v.width,
                    "height": v.height,
                    "bytes": v.bytes,
                }
                for v in self.variants
            ],  # fmt: skip
            "warnings": list(self.warnings),
            "error": None if self.ok else {"type": self.error_type, "message": self.error},
        }


def output_folders(files: Sequence[Path], out: Path) -> dict[Path, Path]:
    """Each distinct file's own folder under `out` (see the module docstring)."""
    absolute = {file: Path(os.path.abspath(file)) for file in files}
    distinct = list(dict.fromkeys(absolute.values()))
    if not distinct:
        return {}
    base = Path(os.path.commonpath([path.parent for path in distinct]))
    relative = {path: path.relative_to(base) for path in distinct}
    shared = Counter(rel.with_suffix("") for rel in relative.values())
    folder = {
        path: rel.with_suffix("")
        if shared[rel.with_suffix("")] == 1
        else rel.with_name(f"{rel.stem}_{rel.suffix.lstrip('.')}")
        for path, rel in relative.items()
    }
    return {file: out / folder[path] for file, path in absolute.items()}


def render_files(
    files: Sequence[Path],
    out: Path,
    specs: Sequence[VariantSpec],
    limits: Limits | None = None,
    on_done: Callable[[Outcome], None] = lambda _: None,
) -> list[Outcome]:
    """Render every variant of each file into its folder; one outcome per distinct file, in order."""
    outcomes = []
    for file, folder in output_folders(files, out).items():
        outcome = render_one(file, folder, specs, limits)
        on_done(outcome)
        outcomes.append(outcome)
    return outcomes


def render_one(file: Path, folder: Path, specs: Sequence[VariantSpec], limits: Limits | None) -> Outcome:
    """Render `file` into `folder` (created only when there is something to write)."""
    from worker import engine  # libvips loads only when something is rendered

    try:
        result = engine.render(file.read_bytes(), specs, limits)
    except ImgpipeError as exc:
        return Outcome(file, folder, error_type=exc.error_type, error=str(exc))
    except OSError as exc:
        return Outcome(file, folder, error_type="Unreadable", error=exc.strerror or str(exc))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for variant in result.variants:
        target = folder / f"{variant.name}.{EXTENSIONS[variant.format]}"
        target.write_bytes(variant.data)
        written.append(
            Written(variant.name, target, variant.format, variant.width, variant.height, len(variant.data))
        )
    return Outcome(file, folder, written, warnings=result.warnings)
