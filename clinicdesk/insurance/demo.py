"""The demo practice's insurance, each part from its own module."""

from __future__ import annotations

from .demo_eligibility import seed_eligibility


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add insurance to the demo practice; returns the rows added (0 on a second run)."""
    return seed_eligibility(ctx, stdout=stdout)
