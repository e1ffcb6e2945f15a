"""The insurance part of the demo practice (called by `manage.py seed_demo`): each sub-domain adds its own."""

from __future__ import annotations


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    from . import demo_remittances

    return demo_remittances.seed(ctx, patients=patients, seed=seed, stdout=stdout)
