"""The demo practice's insurance, each part from its own module."""

from __future__ import annotations

from .demo_coverage import seed_coverage


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add insurance to the demo practice; returns the rows added (0 on a second run)."""
    return seed_coverage(ctx, patients=patients, seed=seed, stdout=stdout)
