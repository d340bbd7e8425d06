"""The chaos run's payloads: the load test's small profile with a share of poison spread evenly
over a cycle, rotating over every poison kind, the hostile corpus's SVG and PNG bomb among them.
"""

from __future__ import annotations

import json
from pathlib import Path

from loadtest.hostile.corpus import poison_samples
from loadtest.load import payloads

CYCLE = 400  # uploads per cycle of the mix: long enough for 3% to rotate over every poison kind
POISON = ("poison_truncated.jpg", "poison_text.jpg", "poison_svg.jpg", "poison_bomb.png")


def poison_files(folder: Path) -> list[str]:
    """Add the hostile poison kinds beside the load test's own; every poison payload's name."""
    samples = poison_samples()
    (folder / "poison_svg.jpg").write_bytes(samples["svg"])
    (folder / "poison_bomb.png").write_bytes(samples["bomb"])
    return list(POISON)


def mix(folder: Path, share: float) -> Path:
    """The small load-test profile with `share` of the uploads poison, spread evenly over a cycle
    and rotating over every poison kind; returns the payload folder."""
    payloads.generate(folder, "small", poison_share=0.0)
    good = [name for name in payloads.load(folder).cycle if not payloads.is_poison(name)]
    kinds = poison_files(folder)
    slots = round(CYCLE * share)
    spots = {int((k + 0.5) * CYCLE / slots): kinds[k % len(kinds)] for k in range(slots)} if slots else {}
    good_iter = iter(good * CYCLE)
    cycle = [spots.get(i) or next(good_iter) for i in range(CYCLE)]
    (folder / payloads.MIX_FILE).write_text(json.dumps(cycle))
    return folder
