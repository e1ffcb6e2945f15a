"""The demo practice's insurance: each part from its own module, in the order an office builds them up."""

from __future__ import annotations

from .demo_contracts import seed_contracts


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add insurance to the demo practice; returns the rows added (0 on a second run)."""
    return seed_contracts(ctx, stdout=stdout)
