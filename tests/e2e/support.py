"""Helpers shared by the end-to-end tests: demo inputs, process scanning, headless Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from deploy.local import samples

VARIANT_NAMES = ("original", "large", "medium", "small", "thumbnail")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_TIMEOUT_S = 90


# --------------------------------------------------------------------------- demo inputs


@dataclass(frozen=True)
class DemoInputs:
    """The files a demo run uploads, and what each one is expected to become."""

    files: list[Path]
    good: tuple[str, ...]
    rotated: str
    rotated_upright: Image.Image  # what the rotated file looks like once EXIF orientation is applied
    corrupt: str
    text: str


def write_demo_inputs(folder: Path) -> DemoInputs:
    """Small photos (<= 800 px), one stored sideways with EXIF orientation 6, and two bad files."""
    upright = samples.photo(480, 320, 4)
    # Orientation 6 tells viewers to turn the stored pixels 90 degrees clockwise, so the stored
    # image is the upright one turned 90 degrees anticlockwise (Pillow's ROTATE_90).
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    truncated = samples.jpeg(samples.photo(600, 400, 5))
    good = [
        samples.Sample("landscape.jpg", samples.jpeg(samples.photo(800, 600, 1))),
        samples.Sample("portrait.jpg", samples.jpeg(samples.photo(450, 600, 2))),
        samples.Sample("alpha.png", samples.with_alpha(samples.photo(400, 300, 3))),
        samples.Sample("rotated_exif6.jpg", samples.jpeg(stored, orientation=6)),
        samples.Sample("café & crème.jpg", samples.jpeg(samples.photo(320, 240, 6))),
    ]
    bad = [
        samples.Sample("truncated.jpg", truncated[: len(truncated) // 2]),
        samples.Sample("notes_named_as.png", b"this is a text file, not an image\n"),
    ]
    files = samples.write([*good, *bad], folder)
    return DemoInputs(
        files=files,
        good=tuple(s.name for s in good),
        rotated="rotated_exif6.jpg",
        rotated_upright=upright,
        corrupt="truncated.jpg",
        text="notes_named_as.png",
    )


# --------------------------------------------------------------------------- processes


def _mentions_port(args: list[str], port: int) -> bool:
    """True for `-p PORT` / `--port PORT` or any argument with `:PORT` in it (a URL)."""
    text = str(port)
    url = re.compile(rf":{text}(?!\d)")
    for index, arg in enumerate(args):
        if url.search(arg) or arg in (f"-p{text}", f"--port={text}"):
            return True
        if arg in ("-p", "--port") and index + 1 < len(args) and args[index + 1] == text:
            return True
    return False


def processes_using_port(port: int) -> list[str]:
    """`pid: command line` of every live process (other than this one) whose arguments name `port`."""
    proc = Path("/proc")
    if not proc.is_dir():
        pytest.skip("needs /proc to list processes")
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:  # exited while we looked, or not ours to read
            continue
        args = [part.decode(errors="replace") for part in raw.split(b"\0") if part]
        if _mentions_port(args, port):
            found.append(f"{entry.name}: {' '.join(args)}")
    return found


# --------------------------------------------------------------------------- headless Chromium


def require_chromium() -> Path:
    """The browser, or a skip (a failure when IMGPIPE_REQUIRE_BROWSER=1) when it is missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("IMGPIPE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"IMGPIPE_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (Debian package `chromium`)")
    pytest.skip("chromium not installed; `make test` installs it")


def run_chromium(browser: Path, scratch: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile; returns stdout. Leaves no process behind."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=scratch)
    command = [
        str(browser), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=CHROMIUM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish within {CHROMIUM_TIMEOUT_S} s: {' '.join(command)}")
    finally:
        # Helper processes (zygote, utility) live in the session we started; end them with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, f"chromium exited {process.returncode}:\n{stderr.decode()[-2000:]}"
    return stdout.decode()


class PageFacts(HTMLParser):
    """The <body> attributes and the number of <img> elements of a dumped DOM."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.body: dict[str, str | None] | None = None
        self.images = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and self.body is None:
            self.body = dict(attrs)
        elif tag == "img":
            self.images += 1

    def counter(self, name: str) -> int:
        """An integer data attribute of <body>; fails clearly when the page script never set it."""
        assert self.body is not None, "no <body> in the dumped DOM"
        value = self.body.get(name)
        assert value is not None, f"<body> has no {name} (did the load handler run?): {self.body}"
        return int(value)
