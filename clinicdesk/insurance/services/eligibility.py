"""Eligibility: a 270 sent for a coverage, the 271 read into an EligibilityCheck, both files kept.

`eligibility_check` never raises for what the outside world does wrong (no clearinghouse, an unreadable answer, a
clearinghouse that refuses): the check ends in status "error" with the reason in plain words.
`eligibility_check_day` checks every booked or confirmed appointment of a day whose patient has a primary coverage;
the background task `eligibility_check_day_task` runs it for the next business day, nightly.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.permissions import Perm, role_has
from clinicdesk.insurance.choices import (
    CoverageRank,
    EligibilityStatus,
    SubscriberRelationship,
    TransactionKind,
)
from clinicdesk.insurance.clearinghouse.adapter import ClearinghouseError, clearinghouse_adapter
from clinicdesk.insurance.models import Coverage, EligibilityCheck, EligibilityRun
from clinicdesk.insurance.x12.segments import Envelope, X12Error
from clinicdesk.insurance.x12.x270 import EligibilityInquiry, InquiryPerson, build_270
from clinicdesk.insurance.x12.x271 import Benefit, Eligibility, read_271

from .x12files import control_numbers_take, x12_exchange_keep

OFFICE_VISIT_TYPES = ("98", "30")  # professional (physician) visit - office, then health benefit plan coverage
SEX_CODES = {"female": "F", "male": "M"}


def _sex(value: str) -> str:
    return SEX_CODES.get(value, "U") if len(value) > 1 else (value if value in ("M", "F", "U") else "U")


def _originator_id(organization) -> str:
    digits = "".join(ch for ch in organization.tax_id if ch.isdigit())
    return ("1" + digits)[:10] if len(digits) == 9 else f"9{organization.pk:09d}"[:10]


def _inquiry(check: EligibilityCheck, coverage: Coverage) -> EligibilityInquiry:
    organization = check.organization
    patient = coverage.patient
    subscriber = InquiryPerson(coverage.subscriber_last_name, coverage.subscriber_first_name,
                               coverage.subscriber_date_of_birth, _sex(coverage.subscriber_sex))
    dependent = None
    if coverage.relationship != SubscriberRelationship.SELF:
        dependent = InquiryPerson(patient.last_name, patient.first_name, patient.date_of_birth, _sex(patient.sex),
                                  patient.middle_name)
    return EligibilityInquiry(
        trace_number=check.trace_number, payer_id=coverage.payer.payer_identifier, payer_name=coverage.payer.name,
        provider_npi=organization.npi, provider_name=organization.name, member_id=coverage.member_id,
        subscriber=subscriber, dependent=dependent, service_date=check.service_date,
    )


def _benefit_row(benefit: Benefit) -> dict:
    return {
        "info": benefit.info, "info_name": benefit.info_name, "coverage_level": benefit.coverage_level,
        "service_types": list(benefit.service_types), "service_type_names": benefit.service_type_names,
        "time_period": benefit.time_period, "time_period_name": benefit.time_period_name,
        "amount": str(benefit.amount.quantize(Decimal("0.01"))) if benefit.amount is not None else None,
        "percent": str((benefit.percent * 100).normalize()) if benefit.percent is not None else None,
        "in_network": benefit.in_network, "plan_name": benefit.plan_name, "messages": list(benefit.messages),
    }


def benefits_of(person: Eligibility) -> dict:
    """The JSON kept on EligibilityCheck.benefits: every benefit by kind, and the messages."""
    messages = [f"{r.reason}: {r.reason_name}" for r in person.rejections]
    for benefit in person.benefits:
        messages.extend(benefit.messages)
    return {
        "active": person.active, "plan_names": person.plan_names,
        "status": [_benefit_row(b) for b in person.benefits if b.info in "12345678"],
        "copays": [_benefit_row(b) for b in person.copays],
        "coinsurance": [_benefit_row(b) for b in person.coinsurance],
        "deductibles": [_benefit_row(b) for b in person.deductibles],
        "out_of_pocket": [_benefit_row(b) for b in person.out_of_pocket],
        "messages": messages,
    }


def office_visit_copay(person: Eligibility) -> Decimal | None:
    for service_type in OFFICE_VISIT_TYPES:
        amount = person.copay_for(service_type)
        if amount is not None:
            return amount
    return None


def office_visit_coinsurance(person: Eligibility) -> Decimal | None:
    for service_type in OFFICE_VISIT_TYPES:
        for benefit in person.coinsurance:
            if (service_type in benefit.service_types and benefit.in_network in (True, None)
                    and benefit.percent is not None):
                return (benefit.percent * 100).quantize(Decimal("0.01"))
    for benefit in person.coinsurance:
        if not benefit.service_types and benefit.percent is not None and benefit.in_network in (True, None):
            return (benefit.percent * 100).quantize(Decimal("0.01"))
    return None


def _person_for(text: str, trace_number: str) -> tuple[Eligibility | None, list]:
    """The person the 271 answers for our trace number (or its only person), and the payer-level rejections."""
    responses = read_271(text)
    people = [person for response in responses for person in response.everyone()]
    payer_rejections = [r for response in responses for r in response.rejections]
    for person in people:
        if trace_number in person.trace_numbers:
            # a subscriber answered with benefits on the dependent: the dependent is who we asked about
            return person, payer_rejections
    if len(responses) == 1 and len(people) <= 2:
        with_benefits = [p for p in people if p.benefits or p.rejections]
        return (with_benefits[-1] if with_benefits else (people[0] if people else None)), payer_rejections
    return None, payer_rejections


def eligibility_apply_271(check: EligibilityCheck, text: str) -> None:
    """Read a 271 into the check (status, headline numbers, benefits); X12Error when it cannot be read."""
    person, payer_rejections = _person_for(text, check.trace_number)
    check.response_x12 = text
    check.answered_at = timezone.now()
    if person is None:
        reasons = "; ".join(f"{r.reason}: {r.reason_name}" for r in payer_rejections)
        check.status = EligibilityStatus.REJECTED if payer_rejections else EligibilityStatus.ERROR
        check.message = (f"The payer could not answer: {reasons}" if reasons
                         else "The answer does not name the person asked about.")[:300]
        check.benefits = {"messages": [reasons] if reasons else []}
        return
    check.benefits = benefits_of(person)
    rejections = person.rejections or payer_rejections
    if rejections and not person.benefits:
        check.status = EligibilityStatus.REJECTED
        check.message = "; ".join(f"{r.reason_name} ({r.reason})" for r in rejections)[:300]
        return
    check.status = {True: EligibilityStatus.ACTIVE, False: EligibilityStatus.INACTIVE}.get(
        person.active, EligibilityStatus.ERROR)
    if person.active is None:
        check.message = "The answer says neither active nor inactive."
    check.plan_name = (person.plan_names[0] if person.plan_names else "")[:120]
    check.copay = office_visit_copay(person)
    check.coinsurance_percent = office_visit_coinsurance(person)
    check.deductible = person.deductible()
    check.deductible_remaining = person.deductible(remaining=True)
    check.out_of_pocket = person.out_of_pocket_total()
    check.out_of_pocket_remaining = person.out_of_pocket_remaining()


def _allowed(actor, organization) -> None:
    if actor is not None and (actor.organization_id != organization.pk
                              or not role_has(actor.role, Perm.ELIGIBILITY_CHECK)):
        raise PermissionDenied("You may not check eligibility here.")


def eligibility_check(*, coverage: Coverage, service_date: date, actor, appointment=None) -> EligibilityCheck:
    """Ask the coverage's payer, through its clearinghouse, whether the patient is covered on `service_date`."""
    organization = coverage.organization
    _allowed(actor, organization)
    if appointment is not None and appointment.patient_id != coverage.patient_id:
        raise ValidationError({"appointment": "That appointment is another patient's."})
    payer = coverage.payer
    with transaction.atomic():
        check = EligibilityCheck.objects.create(
            organization=organization, coverage=coverage, appointment=appointment, service_date=service_date,
            status=EligibilityStatus.QUEUED, trace_number="", requested_by=actor)
        check.trace_number = f"EC{check.pk:010d}"
        problem = ""
        if payer.is_paper:
            problem = f"{payer.name} takes no electronic inquiries (no clearinghouse)."
        elif not organization.npi:
            problem = "The practice has no NPI (Settings → Organization); the payer needs it to answer."
        elif not coverage.member_id:
            problem = "The coverage has no member ID."
        request = ""
        if not problem:
            interchange, group = control_numbers_take(organization=organization)
            clearinghouse = payer.clearinghouse
            envelope = Envelope(
                sender_id=clearinghouse.submitter_id, receiver_id=clearinghouse.receiver_id,
                interchange_control_number=interchange, group_control_number=group,
                created=timezone.localtime().replace(tzinfo=None, microsecond=0), usage=clearinghouse.usage or "T")
            try:
                request = build_270([_inquiry(check, coverage)], envelope=envelope,
                                    originator_id=_originator_id(organization), reference=check.trace_number)
            except X12Error as error:
                problem = f"The inquiry could not be written: {error.reason}"
        if problem:
            check.status, check.message = EligibilityStatus.ERROR, problem[:300]
            check.save()
            audit_event(action="eligibility.checked", actor=actor, target=check, patient=coverage.patient,
                        summary=f"Eligibility not checked: {problem}"[:300])
            return check
        check.request_x12 = request
        check.status = EligibilityStatus.SENT
        check.save()
        x12_exchange_keep(organization=organization, transaction=TransactionKind.X270, direction="out",
                          content=request, clearinghouse=clearinghouse, file_name=f"{check.trace_number}.270",
                          summary=f"Inquiry for {coverage.member_id} on {service_date:%m/%d/%Y}")
    try:
        answer = clearinghouse_adapter(clearinghouse).send_270(request)
    except ClearinghouseError as error:
        answer, problem = "", str(error)
    except Exception as error:  # noqa: BLE001 - the network or a bug at the clearinghouse: never a 500 here
        answer, problem = "", f"The clearinghouse did not answer ({type(error).__name__})."
    with transaction.atomic():
        if answer:
            try:
                eligibility_apply_271(check, answer)
            except X12Error as error:
                problem = f"The answer could not be read: {error}"
            x12_exchange_keep(organization=organization, transaction=TransactionKind.X271, direction="in",
                              content=answer, clearinghouse=clearinghouse, file_name=f"{check.trace_number}.271",
                              summary=f"{check.get_status_display()} for {coverage.member_id}",
                              errors=[{"message": problem}] if problem else [])
        if problem:
            check.status, check.message = EligibilityStatus.ERROR, problem[:300]
            check.answered_at = timezone.now()
        check.full_clean()
        check.save()
        audit_event(action="eligibility.checked", actor=actor, target=check, patient=coverage.patient,
                    summary=f"Eligibility {check.get_status_display()} for {payer.name} on {service_date:%m/%d/%Y}")
    return check


# ------------------------------------------------------------------------------------------------ a whole day


def next_business_day(day: date) -> date:
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following


def day_appointments(*, organization, day: date):
    """Booked or confirmed appointments of the day whose patient has an active primary coverage."""
    from clinicdesk.scheduling.choices import AppointmentStatus
    from clinicdesk.scheduling.models import Appointment

    start = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))
    return (Appointment.objects.filter(
        organization=organization, starts_at__gte=start, starts_at__lt=start + timedelta(days=1),
        status__in=[AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED],
        patient__coverages__is_active=True, patient__coverages__rank=CoverageRank.PRIMARY,
    ).select_related("patient").distinct().order_by("starts_at", "pk"))


def eligibility_run_start(*, organization, day: date, actor=None) -> EligibilityRun:
    """A run of the whole day, waiting for the worker; the page shows its progress from this row."""
    return EligibilityRun.objects.create(organization=organization, day=day,
                                         requested_by=actor if getattr(actor, "is_authenticated", False) else None)


def eligibility_check_day(*, organization, day: date, actor=None, run: EligibilityRun | None = None) -> dict[str, int]:
    """Check every appointment of `day` (see `day_appointments`). Progress is written to the run's row after each
    check and committed at once, so the page, served by another process, sees it while the worker goes on."""
    appointments = list(day_appointments(organization=organization, day=day))
    coverages = {c.patient_id: c for c in Coverage.objects.filter(
        organization=organization, patient_id__in={a.patient_id for a in appointments}, is_active=True,
        rank=CoverageRank.PRIMARY).select_related("payer__clearinghouse", "patient", "organization")}
    if run is None:
        run = eligibility_run_start(organization=organization, day=day, actor=actor)
    runs = EligibilityRun.objects.filter(pk=run.pk)
    runs.update(total=len(appointments), done=0, failed=0, started_at=timezone.now(), finished_at=None)
    counts = {"total": len(appointments), "done": 0}
    try:
        for appointment in appointments:
            check = eligibility_check(coverage=coverages[appointment.patient_id], service_date=day, actor=actor,
                                      appointment=appointment)
            failed = check.status == EligibilityStatus.ERROR
            runs.update(done=F("done") + 1, failed=F("failed") + int(failed))
            counts["done"] += 1
            counts[check.status] = counts.get(check.status, 0) + 1
    finally:
        # a run that stopped half way still ends, so the page stops waiting and shows how far it got
        runs.update(finished_at=timezone.now())
    return counts


def eligibility_check_tomorrow() -> dict[str, int]:
    """Every practice's next business day, checked (the nightly task)."""
    from clinicdesk.core.models import Organization

    day = next_business_day(timezone.localdate())
    total = {"organizations": 0, "checked": 0}
    for organization in Organization.objects.all():
        counts = eligibility_check_day(organization=organization, day=day)
        total["organizations"] += 1
        total["checked"] += counts["done"]
    return total
