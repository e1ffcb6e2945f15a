"""The day close demo: drawers and one closed day, made once."""

from decimal import Decimal

from clinicdesk.billing.choices import DayCloseStatus
from clinicdesk.billing.demo_dayclose import seed_dayclose
from clinicdesk.billing.models import CashDrawer, DayClose, Deposit
from clinicdesk.core.demo import seed
from clinicdesk.ledger.selectors import account_balances
from clinicdesk.patients.tests.factories import PatientFactory


def test_the_demo_makes_drawers_and_one_closed_day_once(db):
    ctx = seed()
    for _ in range(5):
        PatientFactory(organization=ctx.organization)
    assert seed_dayclose(ctx, patients=5, seed=1) == len(ctx.locations) + 5 + 1
    assert seed_dayclose(ctx, patients=5, seed=1) == 0
    day = DayClose.objects.get()
    assert day.status == DayCloseStatus.CLOSED and day.over_short == Decimal("-1.00") and day.needs_approval
    assert day.cash_payments == Decimal("110.00") and day.checks_expected == Decimal("40.00")
    assert CashDrawer.objects.count() == len(ctx.locations) and Deposit.objects.count() == 1
    assert sum(account_balances(organization_id=ctx.organization.pk).values()) == 0
