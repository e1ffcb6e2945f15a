"""Claim and ExplanationOfBenefit, read-only: the practice's professional claims as billed on the 837P, and each
payer's answer to one of them as posted from an 835 remittance (one ExplanationOfBenefit per claim payment).

Both are a patient's data and the practice's money: the role must see both charts and claims, every row returned is
audited as a read of the patient's data, and another practice's rows are never found (404, absent from searches).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from fhir.resources.R4B.claim import Claim as FhirClaim
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit as FhirExplanationOfBenefit

from clinicdesk.core.audit import audit_event, audit_event_rows, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Organization, User
from clinicdesk.core.permissions import Perm
from clinicdesk.insurance.choices import ClaimStatus
from clinicdesk.insurance.models import Claim, ClaimLine, RemittanceAdjustment, RemittanceClaim, RemittanceLine
from clinicdesk.insurance.selectors.remittances import adjustment_label
from clinicdesk.insurance.x12.codes import CLAIM_STATUS, describe
from clinicdesk.ledger.models import JournalEntry

from ..bindings import CLAIM_USE, COVERAGE_STATUS
from ..importing.codes import CPT_SYSTEM, HCPCS_SYSTEMS
from ..mappers import _checked, _instant, payer_id_system
from ..models import FhirToken
from ..search import (
    PROVIDER_ROLES,
    _any_of,
    _system_value_q,
    bad,
    check_params,
    date_filter,
    default_tz,
    reference_id,
    split_param,
)

HCPCS_SYSTEM = HCPCS_SYSTEMS[1]  # HL7 terminology's URI for HCPCS Level II
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CLAIM_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claim-type"
PRIORITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/processpriority"
DIAGNOSIS_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
CARE_TEAM_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
RELATED_CLAIM_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship"
PLACE_OF_SERVICE_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ADJUDICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/adjudication"
# CARIN Blue Button's adjudication codes, for the amounts HL7's own list has no code for (coinsurance, the patient's
# other shares, what the payer did not cover).
CARIN_ADJUDICATION_SYSTEM = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
PROFESSIONAL = {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional", "display": "Professional"}]}
CENT = Decimal("0.01")


def claim_number_system(organization: Organization) -> str:
    """The practice's claim numbers (CLM01, the patient control number the payer echoes back)."""
    return f"urn:clinicdesk:{organization.slug}:claim-number"


def payer_claim_number_system(organization: Organization) -> str:
    """The claim numbers payers give claims they adjudicate (CLP07, ICN/DCN), as the practice received them."""
    return f"urn:clinicdesk:{organization.slug}:payer-claim-number"


def remittance_trace_system(organization: Organization) -> str:
    """The check or EFT trace numbers (TRN02) of the payments the practice received."""
    return f"urn:clinicdesk:{organization.slug}:remittance-trace"


# --- who sees what -----------------------------------------------------------------------------------------


def _may_read(actor: User | None) -> bool:
    return actor is not None and actor.has_perm_code(Perm.PATIENT_VIEW) and actor.has_perm_code(Perm.CLAIMS_VIEW)


def claim_scope(*, actor: User) -> QuerySet[Claim]:
    """Every claim the actor may see, with what its resource shows: their practice's, of patients not merged away,
    for a role that sees both charts and claims. Not audited: the caller audits what it returns."""
    if not _may_read(actor):
        return Claim.objects.none()
    return (Claim.objects.filter(organization_id=actor.organization_id, patient__merged_into__isnull=True)
            .select_related("organization", "patient", "payer", "coverage", "rendering_provider", "prior_authorization",
                            "original_claim", "primary_claim")
            .prefetch_related(Prefetch("lines", queryset=ClaimLine.objects.order_by("sequence"))))


def eob_scope(*, actor: User) -> QuerySet[RemittanceClaim]:
    """Every claim payment the actor may see as an ExplanationOfBenefit: those of their practice's remittances that
    were posted to one of its claims (an unmatched payment names no patient of ours), of patients not merged away,
    for a role that sees charts and claims. `patient_id` is the claim's patient; `reversed` says a later remittance
    took the payment back. Not audited: the caller audits what it returns."""
    if not _may_read(actor):
        return RemittanceClaim.objects.none()
    adjustments = RemittanceAdjustment.objects.order_by("id")
    return (RemittanceClaim.objects
            .filter(remittance__organization_id=actor.organization_id, claim__organization_id=actor.organization_id,
                    claim__patient__merged_into__isnull=True)
            .annotate(patient_id=F("claim__patient_id"),
                      reversed=Exists(JournalEntry.objects.filter(reverses=OuterRef("entry"))))
            .select_related("remittance", "claim__organization", "claim__patient", "claim__payer", "claim__coverage")
            .prefetch_related(
                Prefetch("adjustments", queryset=adjustments.filter(line__isnull=True), to_attr="claim_adjustments"),
                Prefetch("lines", queryset=RemittanceLine.objects.order_by("id").select_related("claim_line")
                         .prefetch_related(Prefetch("adjustments", queryset=adjustments)))))


# --- mapping -----------------------------------------------------------------------------------------------


def _money(amount: Decimal) -> dict:
    return {"value": amount, "currency": "USD"}


def _local(at) -> str:
    """An instant on the site's clock, the clock `created` searches count days by."""
    return _instant(timezone.localtime(at, default_tz()))


def _procedure(code: str) -> dict:
    """CPT codes start with a digit (99213, 0001U, 3074F); HCPCS Level II codes with a letter (G0439, J1100)."""
    return {"coding": [{"system": HCPCS_SYSTEM if code[:1].isalpha() else CPT_SYSTEM, "code": code}]}


def _modifiers(text: str) -> list[dict]:
    """CPT modifiers are two digits (25, 59); HCPCS Level II ones have letters (LT, GT, XS)."""
    return [{"coding": [{"system": CPT_SYSTEM if m.isdigit() else HCPCS_SYSTEM, "code": m}]}
            for m in text.split(",") if m]


def _unit_price(charge: Decimal, units) -> dict | None:
    """The price of one unit, only when it is a whole number of cents (FHIR has net = quantity × unitPrice)."""
    if not units:
        return None
    price = (charge / Decimal(units)).quantize(CENT)
    return _money(price) if price * Decimal(units) == charge else None


def _insurer(claim: Claim) -> dict:
    """The payer by its payer ID, as Coverage names it: payers are not served as resources."""
    return {"identifier": {"system": payer_id_system(claim.organization), "value": claim.payer.payer_identifier},
            "display": claim.payer.name}


def _practice(claim: Claim) -> dict:
    """The billing provider of the 837P: the practice, with its group NPI and tax ID."""
    return {"reference": f"Organization/{claim.organization_id}", "display": claim.organization.name}


def _patient(claim: Claim) -> dict:
    return {"reference": f"Patient/{claim.patient.public_id}", "display": claim.patient.display_name}


def _focal_coverage(claim: Claim) -> dict:
    return {"focal": True, "coverage": {"reference": f"Coverage/{claim.coverage.public_id}"}}


def _billable_period(claim: Claim) -> dict:
    return {"start": claim.service_from.isoformat(), "end": claim.service_to.isoformat()}


def claim_status(claim: Claim) -> str:
    """fm-status of a claim: a draft until it is sent, active from then on whatever the payer answered (the answer
    is the ExplanationOfBenefit); a claim closed before it ever reached the payer was withdrawn."""
    if claim.status in _DRAFT_STATUSES:
        return "draft"
    if claim.status == ClaimStatus.CLOSED and not _reached_payer(claim):
        return "cancelled"
    return "active"


_DRAFT_STATUSES = (ClaimStatus.DRAFT, ClaimStatus.SCRUBBED)


def _reached_payer(claim: Claim) -> bool:
    return claim.submitted_at is not None or claim.adjudicated_on is not None


def _claim_status_q(param: str, value: str) -> Q:
    if value not in COVERAGE_STATUS:
        raise bad(param, f"'{value}' is not a claim status; use one of: {', '.join(COVERAGE_STATUS)}.")
    sent = Q(submitted_at__isnull=False) | Q(adjudicated_on__isnull=False)
    if value == "draft":
        return Q(status__in=_DRAFT_STATUSES)
    if value == "cancelled":
        return Q(status=ClaimStatus.CLOSED) & ~sent
    if value == "active":
        return ~Q(status__in=(*_DRAFT_STATUSES, ClaimStatus.CLOSED)) | (Q(status=ClaimStatus.CLOSED) & sent)
    return Q(pk__in=[])  # nothing here is entered in error


def _use_q(param: str, value: str) -> Q:
    if value not in CLAIM_USE:
        raise bad(param, f"'{value}' is not a claim use; use one of: {', '.join(CLAIM_USE)}.")
    return Q() if value == "claim" else Q(pk__in=[])  # every claim here is a claim, none a preauthorization


def claim_resource(claim: Claim) -> dict:
    """Claim: a professional claim as the 837P describes it: the practice as billing provider, the payer, the
    focal coverage, the diagnoses in claim order, each service line with its pointers, and the total charge."""
    organization = claim.organization
    doctor = claim.rendering_provider
    on_team = doctor.role in PROVIDER_ROLES  # only the providers the API serves as Practitioner
    related = []
    if claim.original_claim_id:
        related.append({"claim": {"reference": f"Claim/{claim.original_claim.public_id}"},
                        "relationship": {"coding": [{"system": RELATED_CLAIM_SYSTEM, "code": "prior"}]}})
    if claim.primary_claim_id:
        related.append({"claim": {"reference": f"Claim/{claim.primary_claim.public_id}"},
                        "relationship": {"coding": [{"system": RELATED_CLAIM_SYSTEM, "code": "associated"}]}})
    place = {"coding": [{"system": PLACE_OF_SERVICE_SYSTEM, "code": claim.place_of_service}]}
    body = {
        "resourceType": "Claim",
        "id": claim.public_id,
        "meta": {"lastUpdated": _instant(claim.updated_at)},
        "identifier": [{"use": "official", "system": claim_number_system(organization), "value": claim.claim_number}],
        "status": claim_status(claim),
        "type": PROFESSIONAL,
        "use": "claim",
        "patient": _patient(claim),
        "billablePeriod": _billable_period(claim),
        "created": _local(claim.created_at),
        "insurer": _insurer(claim),
        "provider": _practice(claim),
        "priority": {"coding": [{"system": PRIORITY_SYSTEM, "code": "normal"}]},
        "related": related,
        "careTeam": [{"sequence": 1, "provider": {"reference": f"Practitioner/{doctor.pk}", "display": str(doctor)},
                      "role": {"coding": [{"system": CARE_TEAM_ROLE_SYSTEM, "code": "primary"}]}}] if on_team else [],
        "diagnosis": [{
            "sequence": n,
            "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM_SYSTEM, "code": code}]},
            "type": [{"coding": [{"system": DIAGNOSIS_TYPE_SYSTEM, "code": "principal"}]}] if n == 1 else [],
        } for n, code in enumerate(claim.diagnosis_codes, start=1)],
        "insurance": [{"sequence": 1, **_focal_coverage(claim),
                       "preAuthRef": [claim.prior_authorization.number] if claim.prior_authorization_id else []}],
        "item": [{
            "sequence": line.sequence,
            "careTeamSequence": [1] if on_team else [],
            "diagnosisSequence": line.pointer_list,
            "productOrService": _procedure(line.procedure_code),
            "modifier": _modifiers(line.modifiers),
            "servicedDate": line.service_date.isoformat(),
            "locationCodeableConcept": place,
            "quantity": {"value": line.units},
            "unitPrice": _unit_price(line.charge, line.units),
            "net": _money(line.charge),
        } for line in claim.lines.all()],
        "total": _money(claim.total_charge),
    }
    return _checked(FhirClaim, body)


def eob_id(row: RemittanceClaim) -> str:
    """The claim's public id and the claim payment's number: as unguessable as the claim's own id."""
    return f"{row.claim.public_id}-{row.pk}"


def _eob_key(value: str) -> tuple[str, int] | None:
    claim_id, dash, number = value.rpartition("-")
    if not dash or not claim_id or not number.isdigit() or len(number) > 18:
        return None
    return claim_id, int(number)


def _category(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


SUBMITTED = _category(ADJUDICATION_SYSTEM, "submitted")
ELIGIBLE = _category(ADJUDICATION_SYSTEM, "eligible")
BENEFIT = _category(ADJUDICATION_SYSTEM, "benefit")
# The patient's share by its CARC (PR-1 deductible, PR-2 coinsurance, PR-3 copay), any other patient share as member
# liability; whatever else the payer took off the charge (CO, OA, PI, CR) was not covered by it. The CARC itself is
# the adjudication's reason.
_PATIENT_SHARES = {"1": (ADJUDICATION_SYSTEM, "deductible"), "2": (CARIN_ADJUDICATION_SYSTEM, "coinsurance"),
                   "3": (ADJUDICATION_SYSTEM, "copay")}


def _adjustment_category(adjustment: RemittanceAdjustment) -> tuple[str, str]:
    if adjustment.group_code == "PR":
        return _PATIENT_SHARES.get(adjustment.reason_code, (CARIN_ADJUDICATION_SYSTEM, "memberliability"))
    return CARIN_ADJUDICATION_SYSTEM, "noncovered"


def _adjudication(adjustment: RemittanceAdjustment) -> dict:
    return {"category": _category(*_adjustment_category(adjustment)),
            "reason": {"coding": [{"system": CARC_SYSTEM, "code": adjustment.reason_code}],
                       "text": adjustment_label(adjustment)},
            "amount": _money(adjustment.amount)}


def _line_denied(line: RemittanceLine) -> bool:
    """The payer allowed nothing of the service: it paid nothing and left nothing for the patient to pay."""
    return line.paid == 0 and not any(a.group_code == "PR" for a in line.adjustments.all())


def eob_outcome(row: RemittanceClaim) -> str:
    """remittance-outcome: `error` when the payer denied the claim (CLP02 4, or every service denied), `partial`
    when it denied some services and allowed others, `complete` when it allowed every one (a reversal too)."""
    if row.is_reversal:
        return "complete"
    lines = list(row.lines.all())
    denied = sum(1 for line in lines if _line_denied(line))
    if row.status_code == "4" or (lines and denied == len(lines)):
        return "error"
    return "partial" if denied else "complete"


def _item_sequences(lines: list[RemittanceLine]) -> list[int]:
    """The claim's own line numbers when every service was matched to one, else the services in order."""
    numbers = [line.claim_line.sequence if line.claim_line_id else None for line in lines]
    if None in numbers or len(set(numbers)) != len(numbers):
        return list(range(1, len(lines) + 1))
    return numbers


def _totals(row: RemittanceClaim, lines: list[RemittanceLine]) -> list[dict]:
    """What was charged, allowed (when the payer said so for every service) and paid, then each kind of adjustment
    summed over the claim and its services (in Decimal: cents add up exactly)."""
    totals = [(SUBMITTED, row.charge)]
    if lines and all(line.allowed is not None for line in lines):
        totals.append((ELIGIBLE, sum((line.allowed for line in lines), Decimal("0"))))
    totals.append((BENEFIT, row.paid))
    summed: dict[tuple[str, str], Decimal] = {}
    for adjustment in [*row.claim_adjustments, *(a for line in lines for a in line.adjustments.all())]:
        key = _adjustment_category(adjustment)
        summed[key] = summed.get(key, Decimal("0")) + adjustment.amount
    totals += [(_category(*key), amount) for key, amount in summed.items()]
    return [{"category": category, "amount": _money(amount)} for category, amount in totals]


def eob_resource(row: RemittanceClaim) -> dict:
    """ExplanationOfBenefit: one claim payment of an 835 as posted: the payer's outcome, each service with what was
    submitted, allowed and paid and every adjustment by its CARC, the totals, and the payment (this claim's part of
    the check or EFT, with its trace number)."""
    claim = row.claim
    organization = claim.organization
    remittance = row.remittance
    lines = list(row.lines.all())
    items = []
    for sequence, line in zip(_item_sequences(lines), lines, strict=True):
        adjudication = [{"category": SUBMITTED, "amount": _money(line.charge)}]
        if line.allowed is not None:
            adjudication.append({"category": ELIGIBLE, "amount": _money(line.allowed)})
        adjudication.append({"category": BENEFIT, "amount": _money(line.paid)})
        items.append({
            "sequence": sequence,
            "productOrService": _procedure(line.procedure_code),
            "modifier": _modifiers(line.modifiers),
            "servicedDate": (line.service_date or claim.service_from).isoformat(),
            "quantity": {"value": line.units},
            "net": _money(line.charge),
            "adjudication": adjudication + [_adjudication(a) for a in line.adjustments.all()],
        })
    body = {
        "resourceType": "ExplanationOfBenefit",
        "id": eob_id(row),
        "meta": {"lastUpdated": _instant(max(remittance.created_at, row.resolved_at or remittance.created_at))},
        "identifier": [{"use": "official", "system": payer_claim_number_system(organization),
                        "value": row.payer_claim_number}] if row.payer_claim_number else [],
        "status": "cancelled" if row.reversed else "active",
        "type": PROFESSIONAL,
        "use": "claim",
        "patient": _patient(claim),
        "billablePeriod": _billable_period(claim),
        "created": _local(remittance.created_at),
        "insurer": _insurer(claim),
        "provider": _practice(claim),
        "claim": {"reference": f"Claim/{claim.public_id}", "display": f"Claim {claim.claim_number}"},
        "outcome": eob_outcome(row),
        "disposition": describe(CLAIM_STATUS, row.status_code),
        "insurance": [_focal_coverage(claim)],
        "item": items,
        "adjudication": [_adjudication(a) for a in row.claim_adjustments],
        "total": _totals(row, lines),
        "payment": {
            "date": remittance.payment_date.isoformat() if remittance.payment_date else None,
            "amount": _money(row.paid),
            "identifier": {"system": remittance_trace_system(organization), "value": remittance.check_number},
        },
    }
    return _checked(FhirExplanationOfBenefit, body)


# --- search ------------------------------------------------------------------------------------------------

CLAIM_PARAMS: dict[str, tuple[str, ...]] = {
    "_id": (), "patient": (), "created": (), "status": (), "use": (), "identifier": (),
}
EOB_PARAMS: dict[str, tuple[str, ...]] = {"_id": (), "patient": (), "claim": (), "created": (), "status": ()}
# How the CapabilityStatement describes them.
CLAIM_PARAM_DOCS: dict[str, tuple[str, str]] = {
    "_id": ("token", "The claim's id"),
    "patient": ("reference", "Patient/[id]"),
    "created": ("date", "When the claim was made, with the prefixes eq, ge, gt, le, lt; repeat for a range"),
    "status": ("token", "active, cancelled or draft (see docs/fhir.md for the claim statuses behind each)"),
    "use": ("token", "claim (every claim here is one)"),
    "identifier": ("token", "The claim number (the patient control number), as value or system|value"),
}
EOB_PARAM_DOCS: dict[str, tuple[str, str]] = {
    "_id": ("token", "The id, [claim id]-[number]"),
    "patient": ("reference", "Patient/[id]"),
    "claim": ("reference", "Claim/[id]"),
    "created": ("date", "When the remittance was posted, with the prefixes eq, ge, gt, le, lt; repeat for a range"),
    "status": ("token", "active, or cancelled for a payment a later remittance reversed"),
}


def claim_search(*, actor: User, params) -> QuerySet[Claim]:
    """The claims the actor may see matching the FHIR parameters (AND across parameters, OR within a comma list),
    newest first."""
    check_params(params, CLAIM_PARAMS)
    rows = claim_scope(actor=actor)
    numbers = claim_number_system(actor.organization)
    for key in params:
        name, _ = split_param(key)
        if name == "created":
            rows = rows.filter(date_filter(key, params.getlist(key), "created_at", tz=default_tz(), as_date=False))
            continue
        for raw in params.getlist(key):
            if name == "_id":
                rows = rows.filter(_any_of(key, raw, lambda v: Q(public_id=v)))
            elif name == "patient":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(patient__public_id=reference_id(key, v, "Patient"))))
            elif name == "status":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _claim_status_q(key, v)))
            elif name == "use":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _use_q(key, v)))
            elif name == "identifier":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _system_value_q(key, v, numbers, "claim_number")))
    return rows.order_by("-created_at", "-id")


def _eob_id_q(value: str) -> Q:
    key = _eob_key(value)
    return Q(claim__public_id=key[0], pk=key[1]) if key else Q(pk__in=[])


def _eob_status_q(param: str, value: str) -> Q:
    if value not in COVERAGE_STATUS:
        raise bad(param, f"'{value}' is not an explanation of benefit status; use one of: {', '.join(COVERAGE_STATUS)}.")
    if value in ("active", "cancelled"):
        return Q(reversed=value == "cancelled")
    return Q(pk__in=[])  # no payer's answer is a draft or entered in error here


def eob_search(*, actor: User, params) -> QuerySet[RemittanceClaim]:
    """The claim payments the actor may see matching the FHIR parameters, latest remittance first."""
    check_params(params, EOB_PARAMS)
    rows = eob_scope(actor=actor)
    for key in params:
        name, _ = split_param(key)
        if name == "created":
            rows = rows.filter(date_filter(key, params.getlist(key), "remittance__created_at", tz=default_tz(),
                                           as_date=False))
            continue
        for raw in params.getlist(key):
            if name == "_id":
                rows = rows.filter(_any_of(key, raw, _eob_id_q))
            elif name == "patient":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(
                    claim__patient__public_id=reference_id(key, v, "Patient"))))
            elif name == "claim":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(claim__public_id=reference_id(key, v, "Claim"))))
            elif name == "status":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: _eob_status_q(key, v)))
    return rows.order_by("-remittance__created_at", "-id")


# --- endpoints (registered in views.KINDS) -------------------------------------------------------------------


def _searchset(*args, **kwargs) -> dict:
    # views imports this module for its table of resources, so its Bundle paging is looked up when a search runs
    from ..views import _searchset as searchset

    return searchset(*args, **kwargs)


def claim_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    claim = claim_scope(actor=actor).filter(public_id=resource_id).first()
    if claim is None:
        raise Http404
    audit_event(action="claim.viewed", actor=actor, target=claim, channel=AuditChannel.API,
                summary=f"Claim {claim.claim_number} read through the FHIR API")
    return claim_resource(claim)


def claim_search_view(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    rows = claim_search(actor=actor, params=request.GET)

    def audit(page: list) -> None:
        audit_events(action="claim.listed", actor=actor, targets=page, channel=AuditChannel.API,
                     summary="Returned by a FHIR Claim search")

    return _searchset(request, "Claim", rows, claim_resource, audit=audit)


def _eob_audit_row(action: str, actor: User, row: RemittanceClaim, summary: str) -> dict:
    return {"action": action, "actor": actor, "target": row, "patient": row.claim.patient, "channel": AuditChannel.API,
            "summary": summary}


def eob_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    key = _eob_key(resource_id)
    row = eob_scope(actor=actor).filter(claim__public_id=key[0], pk=key[1]).first() if key else None
    if row is None:
        raise Http404
    audit_event(**_eob_audit_row("remittance.viewed", actor, row, f"ERA {row.remittance.check_number}, claim "
                                                                  f"{row.claim.claim_number}: read through the FHIR API"))
    return eob_resource(row)


def eob_search_view(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    rows = eob_search(actor=actor, params=request.GET)

    def audit(page: list) -> None:
        audit_event_rows(_eob_audit_row("remittance.listed", actor, row, "Returned by a FHIR ExplanationOfBenefit search")
                         for row in page)

    return _searchset(request, "ExplanationOfBenefit", rows, eob_resource, audit=audit)
