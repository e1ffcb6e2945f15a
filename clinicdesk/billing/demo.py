"""The demo practice's billing: its procedure list and fee schedule, coded and posted visits, payments, a finished statement run and a
closed day, each part from its own module, in the order an office builds them up."""

from __future__ import annotations

from .demo_charges import seed_charges
from .demo_codes import seed_codes
from .demo_dayclose import seed_dayclose
from .demo_payments import seed_payments
from .demo_payouts import seed_payouts
from .demo_statements import seed_statements


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add billing to the demo practice; returns the rows added (0 on a second run)."""
    added = seed_codes(ctx, stdout=stdout)
    added += seed_charges(ctx, patients=patients, seed=seed, stdout=stdout)
    added += seed_payments(ctx, patients=patients, seed=seed, stdout=stdout)
    added += seed_statements(ctx, patients=patients, seed=seed, stdout=stdout)
    added += seed_dayclose(ctx, patients=patients, seed=seed, stdout=stdout)
    added += seed_payouts(ctx, patients=patients, seed=seed, stdout=stdout)
    return added
