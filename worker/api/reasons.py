"""Why an image failed, in a sentence its owner can act on.

The manifest records the worker's error type (shared.errors) and its technical message; a person
needs to know what to do next. The type is kept beside the sentence for programs.
"""

from __future__ import annotations

from shared.uploads import ACCEPTED

_REASONS = {
    "CorruptImage": "The file could not be read as an image: it is empty, cut short or damaged."
    " Upload the original file again.",
    "UnsupportedFormat": f"The file is not an image type imgpipe takes ({ACCEPTED}), whatever its name"
    " says. Save it as JPEG or PNG and upload it again.",
    "ImageTooLarge": "The image is over a limit (file size, pixels or frames). Upload a smaller version.",
    "SourceMissing": "The upload was deleted or replaced before it could be processed. Upload it again"
    " if you still want it.",
    "InvalidKey": "The upload was stored under a name imgpipe cannot use. Ask for a new upload URL and"
    " upload it again.",
    "ImageIdConflict": "The upload reused an image id that belongs to another upload. Ask for a new"
    " upload URL and upload it again.",
}
_DEFAULT = (
    "The image could not be processed. Upload it again; if it fails again, contact support with its image id."
)


def reason_for(error_type: str) -> str:
    """The sentence for a failure of `error_type` (the default for any type not listed)."""
    return _REASONS.get(error_type, _DEFAULT)
