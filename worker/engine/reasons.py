"""Turn a decoder's error log into the reason an operator can act on, and the right error class.

libvips' error buffer collects every line its loaders wrote while it probed the file, most of
them noise: "bad seek to N" from libheif probing the source, "unable to call VipsForeignLoad..."
and "unable to copy to memory" from the layers above the codec. The codec's own line says what
is wrong, and whether the file is damaged (`CorruptImage`: fix or replace the file) or valid in
a codec or layout this build cannot decode (`UnsupportedFormat`: convert it, or extend the build).

Decoding is deterministic, so whatever a decoder raises on given bytes is one of these, never a
retry: libvips' errors, and every exception pi-heif or a parser raises (`translate`; libheif's
"Unsupported feature" arrives as a `SyntaxError`). A failed allocation (`MemoryError`, libvips'
"out of memory") is `ImageTooLarge`, not transient: renders are admitted against the memory
budget by their header's estimate, and with Linux's overcommit a machine short of memory kills
the process (SQS redelivers) rather than failing a request, so a request that fails is one this
file makes and this deployment cannot meet. A redrive after raising the memory retries it.
"""

from __future__ import annotations

import re

from shared.errors import CorruptImage, ImageTooLarge, PermanentError, UnsupportedFormat

_NOISE = re.compile(
    r"bad seek|unable to call|unable to copy to memory|unknown pseudo-tag|error in tile|"
    r"threadpool|^\w+: (load|read) error$|unable to load from|^\w+load(_\w+)?: load error",
    re.IGNORECASE,
)
# Valid files the build cannot decode. Matched on the codec's own words; "Unsupported marker
# type" (libjpeg) is damage, not a missing codec, so bare "unsupported" is not enough.
_MISSING_CODEC = re.compile(
    r"not configured|not been built in|no decoder|unsupported codec|unsupported feature|"
    r"data precision|unsupported color conversion|bad labq format|unsupported (photometric|"
    r"sample format|bits|compression|image type)|not implemented|"
    # "tiled separate planes not supported" (libvips), "... not supported" (libtiff, libwebp);
    # not libtiff's warning about a tag ("(not supported by libtiff)"): the picture is whole.
    r"not supported(?! by (libtiff|codec))",
    re.IGNORECASE,
)
_OUT_OF_MEMORY = re.compile(r"out of memory|cannot allocate memory", re.IGNORECASE)
# What an opaque libvips message means, said so that someone can act on it.
_REWORDED = {
    "bad labq format": "CIELab colour is not supported for this file's layout (libvips: bad labq format)",
    "not in a known format": "it starts like one, but its structure cannot be read (truncated or damaged)",
}
_LIMIT = 300
# How each codec's lines start. libvips' error buffer is one per process and is cleared only when
# pyvips raises, so it can hold lines of another thread's render, or warnings a tolerant render
# left behind: a line of another codec is never this file's reason.
_CODEC_PREFIXES = {
    "jpeg": ("vipsjpeg", "jpeg"),
    "png": ("vipspng", "spng", "png"),
    "webp": ("webp", "vipswebp"),
    "gif": ("gif", "nsgif", "cgif"),
    "tiff": ("tiff2vips", "tiff", "vipstiff"),
    "heif": ("heif",),
}


def _codec(line: str) -> str | None:
    lowered = line.lower()
    return next((c for c, prefixes in _CODEC_PREFIXES.items() if lowered.startswith(prefixes)), None)


def meaningful_line(log: str, fmt: str | None = None) -> str | None:
    """The line of a decoder log that names the problem (for a `fmt` file: its codec's line
    first, never another codec's), or None when every line is noise."""
    codec = "heif" if fmt == "avif" else fmt
    lines = []
    for raw in log.splitlines():
        line = raw.strip()
        if line and not _NOISE.search(line) and line not in lines:
            lines.append(line)
    if codec is not None:
        own = [line for line in lines if _codec(line) == codec]
        lines = own or [line for line in lines if _codec(line) is None]
    if not lines:
        return None
    chosen = next((line for line in lines if _MISSING_CODEC.search(line)), lines[0])
    for phrase, words in _REWORDED.items():
        if phrase in chosen.lower():
            chosen = words
    return chosen[:_LIMIT]


def classify(fmt: str, log: str) -> PermanentError:
    """The `PermanentError` for a decode of a `fmt` file that failed with `log`."""
    line = meaningful_line(log, fmt)
    if line is None:
        return CorruptImage(
            f"{fmt} image cannot be decoded: the decoder stopped without naming a reason"
            f" (the file is damaged or not really {fmt})"
        )
    if _OUT_OF_MEMORY.search(line):
        return ImageTooLarge(f"{fmt} image needs more memory to decode than this worker can allocate: {line}")
    if _MISSING_CODEC.search(line) or (fmt in ("heif", "avif") and "unsupported" in line.lower()):
        return UnsupportedFormat(f"{fmt} file uses a codec or layout this build cannot decode: {line}")
    return CorruptImage(f"{fmt} image cannot be decoded: {line}")


def translate(fmt: str, exc: Exception) -> PermanentError:
    """The `PermanentError` for an exception a decoder other than libvips (pi-heif, libjpeg-turbo)
    or one of the engine's own parsers raised on a `fmt` file: the class says what kind of
    failure, the decoder's message why."""
    words = str(exc).strip() or type(exc).__name__
    if isinstance(exc, MemoryError):
        words = f"out of memory ({words})"
    # The codec's name first, so the line counts as this file's codec's own (see `meaningful_line`).
    return classify(fmt, f"{'heif' if fmt == 'avif' else fmt}: {words}")
