"""Finding and removing objects under `processed/` that no manifest lists (orphan renders of
runs killed before their commit, legacy fixed-key variants, variants of images without a
manifest): the rule every sweep shares (`plan`)."""

from worker.orphans.plan import Orphan, Plan, Stored, image_of, kind, newest, plan, render_prefixes, unit_of

__all__ = ["Orphan", "Plan", "Stored", "image_of", "kind", "newest", "plan", "render_prefixes", "unit_of"]
