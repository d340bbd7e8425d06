"""Finding and removing objects under `processed/` that no manifest lists (orphan renders of
runs killed before their commit, legacy fixed-key variants, variants of images without a
manifest): the rule both sweeps share (`plan`), and the scheduled sweep's bounded pages."""

from worker.orphans.plan import Orphan, Plan, Stored, image_of, kind, newest, plan, render_prefixes, unit_of
from worker.orphans.sweeper import SweepIncomplete, run

__all__ = [
    "Orphan",
    "Plan",
    "Stored",
    "SweepIncomplete",
    "image_of",
    "kind",
    "newest",
    "plan",
    "render_prefixes",
    "run",
    "unit_of",
]
