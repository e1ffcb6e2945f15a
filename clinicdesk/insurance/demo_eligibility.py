"""The demo practice's eligibility: the local clearinghouse's roster holds the demo coverages' members (one in
ten inactive, so the day list shows both), and tomorrow's appointments are checked. Skipped when no coverage
exists yet; a second run adds nothing."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from .choices import ClearinghouseKind, CoverageRank
from .clearinghouse.local import RosterMember, roster_get, roster_put
from .models import Coverage, EligibilityCheck
from .services.eligibility import day_appointments, eligibility_check, next_business_day


def _member(coverage: Coverage) -> RosterMember:
    deductible = coverage.deductible if coverage.deductible is not None else Decimal("1500")
    met = (Decimal(coverage.pk * 137 % 100) / 100 * deductible).quantize(Decimal("1"))
    plan = coverage.plan.name if coverage.plan_id else f"{coverage.payer.name} plan"
    return RosterMember(
        payer_id=coverage.payer.payer_identifier, member_id=coverage.member_id,
        last_name=coverage.subscriber_last_name, first_name=coverage.subscriber_first_name, plan_name=plan,
        active=coverage.pk % 10 != 7, copay=str(coverage.copay if coverage.copay is not None else Decimal("25")),
        coinsurance_percent=str(coverage.coinsurance_percent if coverage.coinsurance_percent is not None else 20),
        deductible=str(deductible), deductible_met=str(met), out_of_pocket="6000", out_of_pocket_met=str(met * 2))


def seed_eligibility(ctx, *, stdout=None) -> int:
    organization = ctx.organization
    coverages = list(Coverage.objects.filter(organization=organization, is_active=True,
                                             payer__clearinghouse__kind=ClearinghouseKind.LOCAL)
                     .select_related("payer__clearinghouse", "plan"))
    if not coverages:
        if stdout:
            stdout.write("  eligibility: no demo coverages yet, skipped")
        return 0
    added = 0
    for coverage in coverages:
        house = coverage.payer.clearinghouse
        if roster_get(house, coverage.payer.payer_identifier, coverage.member_id) is None:
            roster_put(house, _member(coverage))
            added += 1
    day = next_business_day(timezone.localdate())
    by_patient = {c.patient_id: c for c in coverages if c.rank == CoverageRank.PRIMARY}
    done = set(EligibilityCheck.objects.filter(organization=organization, service_date=day)
               .values_list("appointment_id", flat=True))
    actor = next((u for u in ctx.users.values() if u.role == "front_desk"), None)
    for appointment in day_appointments(organization=organization, day=day):
        coverage = by_patient.get(appointment.patient_id)
        if coverage is None or appointment.pk in done:
            continue
        eligibility_check(coverage=coverage, service_date=day, actor=actor, appointment=appointment)
        added += 1
    if stdout:
        stdout.write(f"  eligibility: {added} roster members and checks for {day:%m/%d/%Y}")
    return added
