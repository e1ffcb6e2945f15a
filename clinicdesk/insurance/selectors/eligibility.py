"""What the eligibility and batch pages show, scoped to the acting user's practice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from clinicdesk.insurance.choices import ClaimStatus, CoverageRank
from clinicdesk.insurance.models import Claim, ClaimBatch, Coverage, EligibilityCheck, EligibilityRun, X12Exchange
from clinicdesk.insurance.services.eligibility import day_appointments


@dataclass
class DayRow:
    appointment: object
    coverage: Coverage
    check: EligibilityCheck | None


def eligibility_day(*, user, day: date) -> list[DayRow]:
    """The day's booked and confirmed appointments with a primary coverage, each with its latest check for that
    day (three queries whatever the number of rows)."""
    appointments = list(day_appointments(organization=user.organization, day=day)
                        .select_related("patient", "provider", "appointment_type"))
    patient_ids = {a.patient_id for a in appointments}
    coverages = {c.patient_id: c for c in Coverage.objects.filter(
        organization_id=user.organization_id, patient_id__in=patient_ids, is_active=True,
        rank=CoverageRank.PRIMARY).select_related("payer")}
    latest: dict[int, EligibilityCheck] = {}
    for check in EligibilityCheck.objects.filter(
            organization_id=user.organization_id, coverage_id__in=[c.pk for c in coverages.values()],
            service_date=day).order_by("requested_at", "id"):
        latest[check.coverage_id] = check
    return [DayRow(a, coverages[a.patient_id], latest.get(coverages[a.patient_id].pk)) for a in appointments
            if a.patient_id in coverages]


def eligibility_run_latest(*, user, day: date) -> EligibilityRun | None:
    """The latest run of the day's checks for the user's practice, for the progress line."""
    return EligibilityRun.objects.filter(organization_id=user.organization_id, day=day).order_by("-created_at", "-id").first()


def eligibility_check_get(*, user, check_id: int) -> EligibilityCheck:
    return EligibilityCheck.objects.select_related("coverage__payer", "coverage__patient", "requested_by",
                                                   "appointment").get(organization_id=user.organization_id,
                                                                      pk=check_id)


def coverage_for_check(*, user, coverage_id: str) -> Coverage:
    return Coverage.objects.select_related("payer__clearinghouse", "patient", "organization").get(
        organization_id=user.organization_id, public_id=coverage_id)


def claim_batches(*, user) -> QuerySet[ClaimBatch]:
    return ClaimBatch.objects.filter(organization_id=user.organization_id).select_related("clearinghouse",
                                                                                            "created_by")


def claim_batch_get(*, user, batch_id: int) -> ClaimBatch:
    return claim_batches(user=user).get(pk=batch_id)


def batch_exchanges(*, batch: ClaimBatch) -> QuerySet[X12Exchange]:
    return X12Exchange.objects.filter(batch=batch).order_by("created_at", "id")


# Payers usually send their 277CA within a few days; after this many the biller asks the clearinghouse.
ACK_FOLLOW_UP_DAYS = 5


def claims_awaiting_acknowledgement(*, user, days: int = ACK_FOLLOW_UP_DAYS) -> QuerySet[Claim]:
    """Claims sent at least `days` ago that no 277CA has accepted or rejected yet (the 999 took their file, or said
    nothing about it): the follow-up queue, oldest batch first."""
    return (Claim.objects.filter(organization_id=user.organization_id, status=ClaimStatus.SUBMITTED,
                                 batch__sent_at__lte=timezone.now() - timedelta(days=days))
            .select_related("patient", "payer", "batch").order_by("batch__sent_at", "claim_number"))
