"""The files a load test uploads: a small pool generated once per run, then cycled in a fixed mix.

Generating a 24 MP photo costs seconds of Pillow time, so each size class is drawn once and its
bytes reused for every upload of that class; locust's own CPU then stays small. The name of a
file says its class, and a `poison_` prefix marks the ones the pipeline must quarantine.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from deploy.local import samples

POISON_PREFIX = "poison_"
MIX_FILE = "mix.json"
MAX_POISON_SHARE = 0.95


@dataclass(frozen=True)
class SizeClass:
    """One kind of upload: how to make it and how often it appears in the mix."""

    name: str
    make: Callable[[], bytes]
    weight: int

    @property
    def poison(self) -> bool:
        """True for files no retry can ever process."""
        return self.name.startswith(POISON_PREFIX)


def _truncated(width: int, height: int) -> bytes:
    data = samples.jpeg(samples.photo(width, height, 90))
    return data[: len(data) // 2]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _small() -> list[SizeClass]:
    photo, jpeg = samples.photo, samples.jpeg
    return [
        SizeClass("thumb_320.jpg", lambda: jpeg(photo(320, 240, 11)), 4),
        SizeClass("vga_640.jpg", lambda: jpeg(photo(640, 480, 12)), 4),
        SizeClass("1mp_exif6.jpg", lambda: jpeg(photo(1152, 864, 13), orientation=6), 2),
        SizeClass("alpha_800.png", lambda: samples.with_alpha(photo(800, 600, 14)), 2),
        SizeClass("poison_truncated.jpg", lambda: _truncated(800, 600), 1),
        SizeClass("poison_text.jpg", lambda: b"this is a text file, not an image\n", 1),
    ]


def _full() -> list[SizeClass]:
    photo, jpeg = samples.photo, samples.jpeg
    return [
        *_small(),
        SizeClass("3mp_landscape.jpg", lambda: jpeg(photo(2048, 1536, 15)), 3),
        SizeClass("12mp_landscape.jpg", lambda: jpeg(photo(4000, 3000, 16)), 2),
        SizeClass("12mp_exif3.jpg", lambda: jpeg(photo(4032, 3024, 17), orientation=3), 1),
        SizeClass("alpha_1600.png", lambda: samples.with_alpha(photo(1600, 1200, 18)), 1),
        SizeClass("24mp_landscape.jpg", lambda: jpeg(photo(6000, 4000, 19)), 1),
    ]


def _photos() -> list[SizeClass]:
    """A phone camera roll: mostly 12 MP (portrait shots tagged EXIF orientation 6), some 24 MP
    and 3 MP, a screenshot, and the poison files."""
    photo, jpeg = samples.photo, samples.jpeg
    return [
        SizeClass("12mp_landscape.jpg", lambda: jpeg(photo(4032, 3024, 21)), 4),
        SizeClass("12mp_portrait_exif6.jpg", lambda: jpeg(photo(4032, 3024, 22), orientation=6), 3),
        SizeClass("24mp_landscape.jpg", lambda: jpeg(photo(6000, 4000, 23)), 1),
        SizeClass("3mp_landscape.jpg", lambda: jpeg(photo(2048, 1536, 24)), 2),
        SizeClass("screenshot_1170.png", lambda: _png(photo(1170, 2532, 25)), 1),
        SizeClass("poison_truncated.jpg", lambda: _truncated(4032, 3024), 1),
        SizeClass("poison_text.jpg", lambda: b"this is a text file, not an image\n", 1),
    ]


# small: thumbnail to 1 MP; full: small plus 3 to 24 MP; photos: a phone camera roll (12 MP mostly)
PROFILES: dict[str, Callable[[], list[SizeClass]]] = {"small": _small, "full": _full, "photos": _photos}


def schedule(classes: list[SizeClass], poison_share: float | None = None) -> list[str]:
    """One cycle of class names, interleaved by weight, so any prefix of a run keeps the mix.

    `poison_share` (0..1) replaces the poison classes' weight so that share of uploads is poison.
    """
    weights = {c.name: c.weight for c in classes}
    if poison_share is not None:
        good = sum(w for n, w in weights.items() if not n.startswith(POISON_PREFIX))
        poison = [n for n in weights if n.startswith(POISON_PREFIX)]
        share = min(max(poison_share, 0.0), MAX_POISON_SHARE)
        each = round(good * share / (1 - share) / max(1, len(poison))) if share else 0
        weights.update(dict.fromkeys(poison, each))
    cycle: list[str] = []
    credit = dict.fromkeys(weights, 0.0)
    total = sum(weights.values())
    for _ in range(total):
        for name, weight in weights.items():
            credit[name] += weight / total
        best = max(credit, key=lambda n: credit[n])
        credit[best] -= 1
        cycle.append(best)
    return cycle


def generate(folder: Path, profile: str = "small", poison_share: float | None = None) -> Path:
    """Write every class of `profile` once into `folder`, with the mix's cycle beside them."""
    classes = PROFILES[profile]()
    folder.mkdir(parents=True, exist_ok=True)
    for size_class in classes:
        (folder / size_class.name).write_bytes(size_class.make())
    (folder / MIX_FILE).write_text(json.dumps(schedule(classes, poison_share)))
    return folder


@dataclass(frozen=True)
class Pool:
    """Generated files in memory and the cycle that says which one upload `i` sends."""

    files: dict[str, bytes]
    cycle: list[str]

    def pick(self, index: int) -> tuple[str, bytes]:
        """The name and bytes of upload number `index`."""
        name = self.cycle[index % len(self.cycle)]
        return name, self.files[name]

    def first(self, count: int) -> list[tuple[str, bytes]]:
        """What the first `count` uploads send, in order."""
        return [self.pick(i) for i in range(count)]


def load(folder: Path) -> Pool:
    """The pool `generate` wrote into `folder`."""
    cycle = json.loads((folder / MIX_FILE).read_text())
    return Pool({name: (folder / name).read_bytes() for name in set(cycle)}, cycle)


def is_poison(name: str) -> bool:
    """True for a payload that must end quarantined."""
    return name.startswith(POISON_PREFIX)


def main(argv: list[str] | None = None) -> None:
    """`python -m loadtest.load.payloads DIR [--profile P] [--poison-share S]`: the files for locust
    workers on other machines, the same as the runner generates."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m loadtest.load.payloads", description=main.__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="small")
    parser.add_argument("--poison-share", type=float, default=None, metavar="S", help="0..0.95")
    args = parser.parse_args(argv)
    if args.poison_share is not None and not 0 <= args.poison_share <= MAX_POISON_SHARE:
        parser.error(f"--poison-share must be from 0 to {MAX_POISON_SHARE} (got {args.poison_share:g})")
    if args.folder.exists() and not args.folder.is_dir():
        parser.error(f"{args.folder} is a file, not a folder")
    folder = generate(args.folder, args.profile, args.poison_share)
    print(f"{len(load(folder).files)} payloads and their mix in {folder}")


if __name__ == "__main__":
    main()
