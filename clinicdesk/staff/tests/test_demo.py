"""The demo staff: a record per sign-in, the 38-nurse unit the roster needs, idempotent and deterministic."""

from decimal import Decimal

import pytest

from clinicdesk.core import demo as core_demo
from clinicdesk.staff import demo
from clinicdesk.staff.models import ChecklistTemplate, Credential, CredentialAlert, StaffMember
from clinicdesk.staff.selectors import credential_lapses

pytestmark = pytest.mark.django_db


def _snapshot(org):
    return list(
        StaffMember.objects.filter(organization=org).order_by("email").values_list("email", "fte", "employment_type")
    )


def test_the_demo_staff_cover_every_sign_in_and_the_nursing_unit():
    # given
    ctx = core_demo.seed()

    # when
    added = demo.seed(ctx, patients=0, seed=2026)

    # then
    org = ctx.organization
    assert added > 50
    assert StaffMember.objects.filter(organization=org, user__isnull=False).count() == len(ctx.users)
    nurses = StaffMember.objects.filter(organization=org, department=ctx.departments["nursing"])
    assert nurses.count() == 38
    assert nurses.filter(skills__code="rn").distinct().count() == 38
    assert nurses.filter(skills__code="charge").distinct().count() == 8
    assert set(nurses.values_list("fte", flat=True)) == {Decimal("1.00"), Decimal("0.90"), Decimal("0.80"), Decimal("0.60")}
    assert len(set(nurses.values_list("employment_type", flat=True))) >= 3
    for member in StaffMember.objects.filter(organization=org):
        member.full_clean()  # NPI, DEA and taxonomy of the demo clinicians are valid
    for credential in Credential.objects.filter(organization=org):
        credential.full_clean()
    assert CredentialAlert.objects.filter(credential__organization=org).count() >= 5  # two lapsed, three expiring
    keisha = StaffMember.objects.get(organization=org, first_name="Keisha", last_name="Moore")
    assert keisha.status == "onboarding" and not keisha.onboarding_plans.exists()  # Scenario 10 applies it
    assert ChecklistTemplate.objects.get(organization=org, name="Medical assistant").items.count() >= 8


def test_the_demo_staff_are_idempotent_and_show_lapsed_licences():
    ctx = core_demo.seed()
    demo.seed(ctx, patients=0, seed=2026)
    before = _snapshot(ctx.organization)

    assert demo.seed(ctx, patients=0, seed=2026) == 0

    assert _snapshot(ctx.organization) == before
    from django.utils import timezone

    today = timezone.localdate()
    ids = StaffMember.objects.filter(organization=ctx.organization).values_list("pk", flat=True)
    lapses = credential_lapses(organization=ctx.organization, staff_ids=ids, start=today, end=today)
    assert sum("licence NY expired" in m for messages in lapses.values() for m in messages) == 2
