"""The demo practice's insurance: each part from its own module, in the order an office builds them up."""

from __future__ import annotations

from . import demo_remittances
from .demo_claims import seed_claims
from .demo_contracts import seed_contracts
from .demo_coverage import seed_coverage
from .demo_eligibility import seed_eligibility


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add insurance to the demo practice; returns the rows added (0 on a second run)."""
    made = seed_coverage(ctx, patients=patients, seed=seed, stdout=stdout)
    made += seed_eligibility(ctx, stdout=stdout)
    made += seed_contracts(ctx, stdout=stdout)
    made += seed_claims(ctx, seed=seed, stdout=stdout)
    made += demo_remittances.seed(ctx, patients=patients, seed=seed, stdout=stdout)
    return made
