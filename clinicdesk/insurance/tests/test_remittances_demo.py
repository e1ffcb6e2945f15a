"""The demo ERA: posted for the demo's submitted claims, one claim payment in exceptions; skipped without claims."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from clinicdesk.core.choices import Role
from clinicdesk.insurance import demo_remittances
from clinicdesk.insurance.choices import RemitClaimState
from clinicdesk.insurance.models import Remittance, RemittanceClaim
from clinicdesk.patients.tests.factories import PatientFactory

from .remittances_world import claims_build, payer_for

pytestmark = pytest.mark.django_db


def test_the_demo_posts_an_era_once(org, make_user):
    ctx = SimpleNamespace(organization=org, users={Role.BILLER: make_user(Role.BILLER)})
    assert demo_remittances.seed(ctx) == 0  # no claims yet: nothing to pay
    claims_build(org, payer=payer_for(org), provider=make_user(Role.CLINICIAN),
                 patients=[PatientFactory(organization=org) for _ in range(3)], count=5)
    assert demo_remittances.seed(ctx) == 6
    remittance = Remittance.objects.get()
    assert remittance.balanced
    assert RemittanceClaim.objects.filter(state=RemitClaimState.POSTED).count() == 5
    assert RemittanceClaim.objects.filter(state=RemitClaimState.EXCEPTION).count() == 1
    assert demo_remittances.seed(ctx) == 0
