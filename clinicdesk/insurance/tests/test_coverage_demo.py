"""The demo seed of payers and coverages runs on the demo practice, keeps the one-per-rank rule, and a second
run adds nothing."""

from datetime import date

import pytest

from clinicdesk.core.demo import seed as seed_core
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import CoverageRank, SubscriberRelationship
from ..demo_coverage import seed_coverage
from ..models import Coverage, Payer, PriorAuthorization

pytestmark = pytest.mark.django_db


def test_the_demo_seed_is_idempotent():
    ctx = seed_core()
    for year in (1948, 1952, 1955, 1970, 1975, 1982, 1990, 2012, 2015, 2018) * 3:
        PatientFactory(organization=ctx.organization, date_of_birth=date(year, 6, 1))
    added = seed_coverage(ctx, patients=30, seed=2026)
    assert added > 30
    assert Payer.objects.filter(organization=ctx.organization).count() == 5
    assert Payer.objects.filter(clearinghouse__isnull=True).count() == 1  # the paper-only one
    coverages = Coverage.objects.filter(organization=ctx.organization)
    assert coverages.count() >= 20
    assert coverages.filter(rank=CoverageRank.SECONDARY).exists()
    assert coverages.filter(relationship=SubscriberRelationship.CHILD).exists()
    assert PriorAuthorization.objects.exists()
    assert seed_coverage(ctx, patients=30, seed=2026) == 0
