"""The demo seed of payer contracts: contracts for the demo payers that exist, none for those absent, and a
second run adds nothing."""

from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.core.demo import seed as seed_core
from clinicdesk.insurance.demo_contracts import REFERENCE, seed_contracts
from clinicdesk.insurance.models import PayerContract, ReferenceRate
from clinicdesk.insurance.services.contracts import contract_allowed

from .contracts_world import make_payer

pytestmark = pytest.mark.django_db


def test_the_demo_seed_is_idempotent_and_skips_absent_payers():
    ctx = seed_core()
    ppo = make_payer(ctx.organization, "Hudson Valley Health PPO", "60054")
    make_payer(ctx.organization, "Riverside Mutual Benefit Society", "RSLMUT")
    assert seed_contracts(ctx) > 0
    assert ReferenceRate.objects.filter(schedule__organization=ctx.organization).count() == len(REFERENCE)
    assert PayerContract.objects.filter(organization=ctx.organization).count() == 2
    assert contract_allowed(ppo, "99213", "", date(2026, 5, 1)) == Decimal("104.00")
    assert contract_allowed(ppo, "99212", "", date(2026, 5, 1)) == Decimal("64.90")  # 118% of 55.00
    assert seed_contracts(ctx) == 0
    assert PayerContract.objects.filter(organization=ctx.organization).count() == 2
