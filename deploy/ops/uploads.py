"""Getting images in: choosing the files to upload, and (re-exported here) the bulk upload
(`bulk_upload`) and the pre-signed URLs (`presign`).

A file is taken by its content, as the worker decides: by its magic bytes, whatever its name (a
JPEG called `IMG_0001` is one). Files that are not images, are empty, unreadable or hidden are
left out and reported with the reason, never silently dropped.
"""

from __future__ import annotations

import os
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
from deploy.ops.upload_keys import check_user, content_format, new_key
from shared.keys import IMAGE_SUFFIXES

__all__ = [
    "ALREADY", "DUPLICATE", "UPLOADED", "NotUploaded", "Selection", "Skipped", "UploadResult", "Uploaded",
    "check_filename", "check_user", "new_key", "presign_download", "presign_upload", "read_manifest",
    "select", "skip_reason", "upload_all",
]  # fmt: skip


HEAD_BYTES = 512  # enough for every signature the sniffing reads (a HEIF's brands: its first 256)
HIDDEN_FILE, HIDDEN_FOLDER = "hidden file", "hidden folder (not searched)"


@dataclass(frozen=True)
class Selection:
    """What a bulk upload found: files to send, files left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def select(paths: Iterable[Path], trust_suffix: bool = False) -> Selection:
    """Every file named, or found (recursively) in a named folder, split into uploads and skips.

    A file is an image by its content (its magic bytes), whatever its name; with `trust_suffix`
    a file named as an image is taken too, for the engine to give its verdict (`imgpipe render`).
    Hidden files and folders (a name starting with a dot) found in a folder are left out, a
    hidden folder as one entry; a path named on the command line is taken as named.
    """
    selection = Selection()
    for path in paths:
        if path.is_dir():
            found = _walk(path)
        elif path.is_file():
            found = [(path, None)]
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
        for file, hidden in found:
            reason = hidden or skip_reason(file, trust_suffix)
            if reason is None:
                selection.files.append(file)
            else:
                selection.skipped.append(Skipped(file, reason))
    return selection


def _walk(folder: Path) -> list[tuple[Path, str | None]]:
    """Every file under `folder` in path order, each with None, or why it is hidden; a hidden
    folder is one entry and is not searched (a `.git` holds thousands of files nobody uploads)."""
    found: list[tuple[Path, str | None]] = []
    for root, folders, names in os.walk(folder):
        here = Path(root)
        found += [(here / name, HIDDEN_FOLDER) for name in folders if name.startswith(".")]
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += [(here / name, HIDDEN_FILE if name.startswith(".") else None) for name in names]
    return sorted(found, key=lambda item: item[0])


def skip_reason(path: Path, trust_suffix: bool = False) -> str | None:
    """Why `path` is not worth uploading, or None when it is."""
    try:
        if not path.is_file():
            return "not a regular file"
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if not head:
        return "empty"
    image, why_not = content_format(head)
    named = path.suffix.lower() in IMAGE_SUFFIXES
    if image is not None or (trust_suffix and named):
        return None
    if trust_suffix:  # taken by its name or its content, and neither is an image's
        return f"not an image suffix ({path.suffix or 'none'})"
    return f"{why_not}, though named {path.suffix}" if named else why_not
