"""The demo's claims: built through the services for covered patients' posted visits, in every status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.demo_claims import _demo_npi, seed_claims
from clinicdesk.insurance.models import Appeal, Claim
from clinicdesk.insurance.services.scrubber import _npi_is_valid

from .claims_world import ClaimsWorld

pytestmark = pytest.mark.django_db


def test_demo_npis_have_valid_check_digits():
    assert all(_npi_is_valid(_demo_npi(n)) for n in (1, 7001, 99999999, 123456))


def test_demo_claims_in_every_status(org):
    # given: a practice whose visits of the past weeks are posted; one patient in five has no coverage
    w = ClaimsWorld(org)
    w.org.__class__.objects.filter(pk=org.pk).update(npi="", tax_id="")
    org.refresh_from_db()
    start = timezone.localdate() - timedelta(days=40)
    for i in range(30):
        patient = w.new_patient(f"Demo{i}", covered=i % 5 != 0)
        w.posted(patient, day=start + timedelta(days=i))

    class Ctx:
        organization = org
        users = {"devon": w.biller}

    # when
    made = seed_claims(Ctx, seed=1)
    # then
    assert made == 24
    statuses = set(Claim.objects.values_list("status", flat=True))
    assert statuses >= {ClaimStatus.DRAFT, ClaimStatus.SCRUBBED, ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED,
                        ClaimStatus.REJECTED, ClaimStatus.DENIED, ClaimStatus.APPEALED, ClaimStatus.PAID,
                        ClaimStatus.PARTIALLY_PAID}
    assert Claim.objects.filter(status=ClaimStatus.DRAFT, scrub_errors__gt=0).exists()
    assert Claim.objects.filter(status=ClaimStatus.DENIED).exclude(denial_reason="").exists()
    appeal = Appeal.objects.get()
    assert appeal.letter is None or "Claim number" in appeal.letter.body_html
    assert seed_claims(Ctx, seed=1) == 0
