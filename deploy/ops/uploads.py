"""Getting images in: choosing the files to upload, and (re-exported here) the bulk upload
(`bulk_upload`) and the pre-signed URLs (`presign`).

Files that cannot be images (by suffix), are empty or unreadable are left out and reported with
the reason, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from deploy.ops.bulk_upload import (
    ALREADY,
    DUPLICATE,
    UPLOADED,
    NotUploaded,
    Skipped,
    Uploaded,
    UploadResult,
    upload_all,
)
from deploy.ops.presign import check_filename, presign_download, presign_upload, read_manifest
from deploy.ops.upload_keys import check_user, new_key
from shared.keys import IMAGE_SUFFIXES

__all__ = [
    "ALREADY", "DUPLICATE", "UPLOADED", "NotUploaded", "Selection", "Skipped", "UploadResult", "Uploaded",
    "check_filename", "check_user", "new_key", "presign_download", "presign_upload", "read_manifest",
    "select", "skip_reason", "upload_all",
]  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """What a bulk upload found: files to send, files left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def select(paths: Iterable[Path]) -> Selection:
    """Every file named or found (recursively) in a named folder, split into uploads and skips."""
    selection = Selection()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if not p.is_dir())
        elif path.is_file():
            found = [path]
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
        for file in found:
            reason = skip_reason(file)
            if reason is None:
                selection.files.append(file)
            else:
                selection.skipped.append(Skipped(file, reason))
    return selection


def skip_reason(path: Path) -> str | None:
    """Why `path` is not worth uploading, or None when it is."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return f"not an image suffix ({path.suffix or 'none'})"
    try:
        if not path.is_file():
            return "not a regular file"
        with path.open("rb") as file:
            if not file.read(1):
                return "empty"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    return None
