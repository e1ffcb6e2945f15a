"""Reads of the coverage side of insurance, scoped to the acting user's practice; reads of a patient's coverage
are audited."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient

from ..choices import CoverageRank, EligibilityStatus, PayerRuleKind
from ..models import Clearinghouse, Coverage, EligibilityCheck, InsurancePlan, Payer, PayerRule, PriorAuthorization

ANSWERED = (EligibilityStatus.ACTIVE, EligibilityStatus.INACTIVE, EligibilityStatus.REJECTED)


# --- set-up --------------------------------------------------------------------------------------------------


def clearinghouse_list(*, actor: User) -> QuerySet[Clearinghouse]:
    return Clearinghouse.objects.filter(organization_id=actor.organization_id).annotate(payer_count=Count("payers"))


def clearinghouse_get(*, actor: User, clearinghouse_id: int) -> Clearinghouse:
    found = Clearinghouse.objects.filter(organization_id=actor.organization_id, pk=clearinghouse_id).first()
    if found is None:
        raise Http404("No such clearinghouse.")
    return found


def payer_list(*, actor: User, query: str = "", active_only: bool = False) -> QuerySet[Payer]:
    """The practice's payers with their clearinghouse and how many plans and coverages they have."""
    rows = (Payer.objects.filter(organization_id=actor.organization_id).select_related("clearinghouse")
            .annotate(plan_count=Count("plans", distinct=True),
                      coverage_count=Count("coverages", filter=Q(coverages__is_active=True), distinct=True)))
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(payer_identifier__icontains=query))
    if active_only:
        rows = rows.filter(is_active=True)
    return rows.order_by("name", "id")


def payer_get(*, actor: User, payer_id: int) -> Payer:
    found = Payer.objects.filter(organization_id=actor.organization_id, pk=payer_id).select_related("clearinghouse").first()
    if found is None:
        raise Http404("No such payer.")
    return found


def plan_get(*, actor: User, plan_id: int) -> InsurancePlan:
    found = (InsurancePlan.objects.filter(payer__organization_id=actor.organization_id, pk=plan_id)
             .select_related("payer").first())
    if found is None:
        raise Http404("No such plan.")
    return found


def plan_choices(*, actor: User) -> QuerySet[InsurancePlan]:
    return (InsurancePlan.objects.filter(payer__organization_id=actor.organization_id, is_active=True)
            .select_related("payer").order_by("payer__name", "name"))


# --- coverages -----------------------------------------------------------------------------------------------

_COVERAGE_RELATED = ("payer", "plan", "card_front", "card_back")


def coverage_list(*, actor: User, patient: Patient, audit: bool = True, include_ended: bool = True) -> list[Coverage]:
    """The patient's coverages, active ones first in rank order; the read is audited."""
    if patient.organization_id != actor.organization_id:
        raise Http404("No such patient.")
    rows = Coverage.objects.filter(patient=patient).select_related(*_COVERAGE_RELATED)
    if not include_ended:
        rows = rows.filter(is_active=True)
    result = sorted(rows, key=lambda c: (not c.is_active, c.rank, -(c.effective_from or date.min).toordinal()))
    if audit:
        audit_event(action="insurance.coverage_viewed", actor=actor, target=patient, patient=patient,
                    summary=f"Coverage viewed ({len(result)} on file)")
    return result


def coverage_scope(*, actor: User) -> QuerySet[Coverage]:
    """Every coverage the actor may see (the FHIR API's reads): their practice's, of patients not merged away, for
    a role that sees both patients and coverage. Not audited: the caller audits what it returns."""
    if actor is None or not (actor.has_perm_code(Perm.PATIENT_VIEW) and actor.has_perm_code(Perm.COVERAGE_VIEW)):
        return Coverage.objects.none()
    return (Coverage.objects.filter(organization_id=actor.organization_id, patient__merged_into__isnull=True)
            .select_related("organization", "patient", "payer", "plan"))


def coverage_get(*, actor: User, public_id: str, audit: bool = True) -> Coverage:
    found = (Coverage.objects.filter(organization_id=actor.organization_id, public_id=public_id)
             .select_related("patient", *_COVERAGE_RELATED).first())
    if found is None:
        raise Http404("No such coverage.")
    if audit:
        audit_event(action="insurance.coverage_viewed", actor=actor, target=found, patient=found.patient,
                    summary=f"{found.get_rank_display()} coverage viewed: {found.payer.name}")
    return found


def coverages_in_force(patient: Patient, *, on: date) -> list[Coverage]:
    """The patient's active coverages in force on `on`, primary first (for other parts of the app; not audited:
    the caller audits its own read)."""
    return list(Coverage.objects.filter(patient=patient, is_active=True)
                .filter(Q(effective_from__isnull=True) | Q(effective_from__lte=on))
                .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
                .select_related(*_COVERAGE_RELATED).order_by("rank"))


def coverage_for(patient: Patient, *, on: date, rank: int = CoverageRank.PRIMARY) -> Coverage | None:
    """The coverage of `rank` in force for the patient on `on`, or None."""
    return (Coverage.objects.filter(patient=patient, is_active=True, rank=rank)
            .filter(Q(effective_from__isnull=True) | Q(effective_from__lte=on))
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
            .select_related("payer", "plan").first())


def latest_eligibility(coverage: Coverage) -> EligibilityCheck | None:
    """The coverage's most recent answered eligibility check, if any."""
    return coverage.eligibility_checks.filter(status__in=ANSWERED).order_by("-requested_at", "-id").first()


# --- prior authorisations ------------------------------------------------------------------------------------


def authorization_list(*, actor: User, coverage: Coverage) -> QuerySet[PriorAuthorization]:
    return PriorAuthorization.objects.filter(organization_id=actor.organization_id, coverage=coverage).order_by(
        "-ends_on", "number")


def authorization_get(*, actor: User, authorization_id: int) -> PriorAuthorization:
    found = (PriorAuthorization.objects.filter(organization_id=actor.organization_id, pk=authorization_id)
             .select_related("coverage", "coverage__payer", "patient").first())
    if found is None:
        raise Http404("No such authorisation.")
    return found


def authorization_for(patient: Patient, procedure_code: str, on: date) -> PriorAuthorization | None:
    """An authorisation of the patient covering `procedure_code` on `on` with units left (the one ending first)."""
    code = (procedure_code or "").strip().upper()
    candidates = (PriorAuthorization.objects.filter(patient=patient, starts_on__lte=on, ends_on__gte=on,
                                                    procedure_codes__icontains=code, coverage__is_active=True)
                  .order_by("ends_on", "id"))
    for auth in candidates:
        if code in auth.code_list and auth.units_left > 0:
            return auth
    return None


def codes_needing_authorization(patient: Patient, codes, on: date) -> list[str]:
    """Which of `codes` the patient's primary payer (or every payer) requires an authorisation for."""
    coverage = coverage_for(patient, on=on)
    if coverage is None:
        return []
    wanted = {c.strip().upper() for c in codes if c and c.strip()}
    rules = PayerRule.objects.filter(organization_id=patient.organization_id, kind=PayerRuleKind.REQUIRE_AUTH,
                                     is_active=True).filter(Q(payer__isnull=True) | Q(payer_id=coverage.payer_id))
    needed: list[str] = []
    for rule in rules:
        needed.extend(c for c in rule.code_list if c in wanted and c not in needed)
    return sorted(needed)


def authorization_warnings(patient: Patient, codes, on: date) -> list[str]:
    """Human messages for each code that needs a prior authorisation the patient lacks on `on` (for booking,
    check-in and the claims scrubber)."""
    messages = []
    coverage = coverage_for(patient, on=on)
    for code in codes_needing_authorization(patient, codes, on):
        auth = authorization_for(patient, code, on)
        if auth is None:
            messages.append(f"{coverage.payer.name} needs a prior authorisation for {code} on {on:%m/%d/%Y}; "
                            "none is on file with units left.")
        elif auth.units_left <= 2:
            messages.append(f"Authorisation {auth.number} for {code} has {auth.units_left} unit"
                            f"{'' if auth.units_left == 1 else 's'} left (ends {auth.ends_on:%m/%d/%Y}).")
    return messages


def appointment_codes_needing_authorization(appointment) -> list[str]:
    """Procedure codes an appointment will bill that a require-authorisation rule lists, known by the rule naming
    the appointment type in its values (e.g. values "Physical therapy" on codes 97110,97140)."""
    if not appointment.appointment_type_id:
        return []
    return appointment_type_codes_needing_authorization(appointment.appointment_type)


def appointment_type_codes_needing_authorization(appointment_type) -> list[str]:
    """Procedure codes a visit of this type bills that some require-authorisation rule lists (by naming the type)."""
    type_name = (appointment_type.name or "").strip().upper()
    if not type_name:
        return []
    rules = PayerRule.objects.filter(organization_id=appointment_type.organization_id,
                                     kind=PayerRuleKind.REQUIRE_AUTH, is_active=True)
    codes: list[str] = []
    for rule in rules:
        if type_name in rule.value_list:
            codes.extend(c for c in rule.code_list if c not in codes)
    return codes


def booking_advisory(*, patient: Patient, appointment_type, on: date) -> list[str]:
    """What the front desk should know before booking the visit (never a refusal): no coverage in force on the day,
    or a payer that needs a prior authorisation for the visit's codes with none covering the day or units left."""
    if not coverages_in_force(patient, on=on):
        return [f"No active insurance coverage on {on:%m/%d/%Y}: ask for the card, or the visit is billed to the "
                "patient."]
    codes = appointment_type_codes_needing_authorization(appointment_type)
    return authorization_warnings(patient, codes, on) if codes else []
