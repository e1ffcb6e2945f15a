"""The demo seed of accounts and payments runs on the demo practice and a second run adds nothing."""

import pytest

from clinicdesk.billing.demo_payments import seed_payments
from clinicdesk.billing.models import Payment, PaymentPlan
from clinicdesk.core.demo import seed as seed_core
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_demo_seed_is_idempotent():
    ctx = seed_core()
    for _ in range(6):
        PatientFactory(organization=ctx.organization)
    assert seed_payments(ctx, patients=6, seed=1) > 0
    payments, plans = Payment.objects.count(), PaymentPlan.objects.count()
    assert payments == 4 and plans == 1
    assert seed_payments(ctx, patients=6, seed=1) == 0
    assert Payment.objects.count() == payments and PaymentPlan.objects.count() == plans
