"""The claim scrubber: every edit a payer would reject the claim for, found before it is sent and explained as a
ScrubFinding (which rule, where, how to fix it). Errors block sending; a clean claim moves to scrubbed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.billing.choices import PlaceOfService
from clinicdesk.billing.icd10 import diagnosis_check
from clinicdesk.core.audit import audit_event
from clinicdesk.core.npi import npi_is_valid

from ..choices import OPEN_CLAIM_STATUSES, ClaimEventKind, ClaimStatus, PayerRuleKind, ScrubSeverity
from ..models import Claim, ClaimEvent, ClaimLine, PayerRule, PriorAuthorization, ScrubFinding

MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_MODIFIERS = 4
NEWBORN_DAYS = 28
_MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}$")


def _npi_is_valid(npi: str) -> bool:
    return npi_is_valid(npi or "")


@dataclass
class Finding:
    rule: str
    message: str
    field: str = ""
    line: ClaimLine | None = None
    severity: str = ScrubSeverity.ERROR


def _age_days(born: date, on: date) -> int:
    return (on - born).days


def _claim_edits(claim: Claim, lines: list[ClaimLine], today: date) -> list[Finding]:
    out: list[Finding] = []
    patient, coverage, payer, org = claim.patient, claim.coverage, claim.payer, claim.organization
    provider = claim.rendering_provider
    if not patient.date_of_birth:
        out.append(Finding("patient_dob", "The patient's date of birth is missing; add it on the patient's record.",
                           "patient.date_of_birth"))
    if patient.sex not in ("female", "male", "unknown", "other"):
        out.append(Finding("patient_sex", "The patient's sex is missing; add it on the patient's record.", "patient.sex"))
    for field, label in (("address_line1", "street address"), ("city", "city"), ("state", "state"),
                         ("postal_code", "ZIP code")):
        if not getattr(patient, field, "").strip():
            out.append(Finding("patient_address", f"The patient's {label} is missing; add it on the patient's record.",
                               f"patient.{field}"))
    if not (coverage.subscriber_first_name.strip() and coverage.subscriber_last_name.strip()):
        out.append(Finding("subscriber", "The subscriber's name is missing; complete the coverage.", "coverage.subscriber"))
    if not coverage.member_id.strip():
        out.append(Finding("member_id", "The member ID is missing; copy it from the insurance card into the coverage.",
                           "coverage.member_id"))
    if not payer.payer_identifier.strip():
        out.append(Finding("payer_id", f"{payer.name} has no payer ID; set it on the payer.", "payer.payer_identifier"))
    if not org.npi:
        out.append(Finding("billing_npi", "The practice's group NPI is missing; set it in the practice settings.",
                           "organization.npi"))
    elif not _npi_is_valid(org.npi):
        out.append(Finding("npi_check_digit", f"The practice's NPI {org.npi} fails the check digit; it is mistyped.",
                           "organization.npi"))
    if not org.tax_id.strip():
        out.append(Finding("billing_tax_id", "The practice's tax ID (EIN) is missing; set it in the practice settings.",
                           "organization.tax_id"))
    if not provider.npi:
        out.append(Finding("rendering_npi", f"{provider} has no NPI; add it on the user's profile.",
                           "rendering_provider.npi"))
    elif not _npi_is_valid(provider.npi):
        out.append(Finding("npi_check_digit", f"{provider}'s NPI {provider.npi} fails the check digit; it is mistyped.",
                           "rendering_provider.npi"))
    # Diagnoses: present, billable, at most 12; sex and age edits from ICD-10-CM's chapter rules.
    dx = list(claim.diagnosis_codes or [])
    if not dx:
        out.append(Finding("dx_missing", "The claim has no diagnosis; code the encounter.", "diagnosis_codes"))
    if len(dx) > MAX_DIAGNOSES:
        out.append(Finding("dx_too_many", f"{len(dx)} diagnoses; a claim holds at most {MAX_DIAGNOSES}.",
                           "diagnosis_codes"))
    age = _age_days(patient.date_of_birth, claim.service_from) if patient.date_of_birth else None
    for n, code in enumerate(dx, start=1):
        try:
            diagnosis_check(code)
        except ValidationError as exc:
            out.append(Finding("dx_not_billable", f"Diagnosis {n}: {exc.messages[0]}", f"diagnosis_codes.{n}"))
        upper = code.upper()
        if (upper.startswith("O") or upper.startswith("Z3A")) and patient.sex == "male":
            out.append(Finding("dx_sex", f"Diagnosis {n} ({code}) is for pregnancy and needs a female patient; check "
                                         "the code or the patient's sex.", f"diagnosis_codes.{n}"))
        if upper.startswith("P") and age is not None and age > NEWBORN_DAYS:
            out.append(Finding("dx_age", f"Diagnosis {n} ({code}) is a perinatal code for newborns (0-28 days); the "
                                         f"patient was {age} days old. Use a code from another chapter.",
                               f"diagnosis_codes.{n}"))
    # Dates, place, filing limit.
    if claim.service_from > today:
        out.append(Finding("date_future", f"The service date {claim.service_from:%m/%d/%Y} is in the future.",
                           "service_from"))
    if claim.service_to < claim.service_from:
        out.append(Finding("date_order", "The service ends before it starts.", "service_to"))
    if claim.place_of_service not in PlaceOfService.values:
        out.append(Finding("place_of_service", f"'{claim.place_of_service}' is not a place-of-service code; choose "
                                               "one on the encounter.", "place_of_service"))
    deadline = claim.service_from + timedelta(days=payer.timely_filing_days)
    if today > deadline:
        out.append(Finding("timely_filing", f"{payer.name} accepts claims until {payer.timely_filing_days} days after "
                                            f"the service ({deadline:%m/%d/%Y}); this one is late. Send it with proof "
                                            "of timely filing or write it off.", "service_from"))
    if not lines:
        out.append(Finding("no_lines", "The claim has no services.", "lines"))
    return out


def _line_edits(claim: Claim, lines: list[ClaimLine]) -> list[Finding]:
    out: list[Finding] = []
    dx_count = len(claim.diagnosis_codes or [])
    for ln in lines:
        where = f"Line {ln.sequence} ({ln.procedure_code})"
        try:
            pointers = ln.pointer_list
        except ValueError:
            pointers = []
            out.append(Finding("dx_pointer", f"{where}: the diagnosis pointers '{ln.diagnosis_pointers}' are not numbers.",
                               "diagnosis_pointers", ln))
        if not pointers:
            out.append(Finding("dx_pointer", f"{where}: point the service at a diagnosis.", "diagnosis_pointers", ln))
        elif len(pointers) > MAX_POINTERS:
            out.append(Finding("dx_pointer", f"{where}: at most {MAX_POINTERS} diagnosis pointers.",
                               "diagnosis_pointers", ln))
        for p in pointers:
            if not 1 <= p <= dx_count:
                out.append(Finding("dx_pointer", f"{where}: pointer {p} points past the claim's {dx_count} "
                                                 "diagnoses; fix the pointers on the encounter.", "diagnosis_pointers", ln))
        mods = ln.modifier_list
        if len(mods) > MAX_MODIFIERS:
            out.append(Finding("modifier", f"{where}: at most {MAX_MODIFIERS} modifiers.", "modifiers", ln))
        for m in mods:
            if not _MODIFIER_RE.match(m):
                out.append(Finding("modifier", f"{where}: '{m}' is not a modifier (two letters or digits, e.g. 25).",
                                   "modifiers", ln))
        if ln.service_date < claim.service_from or ln.service_date > claim.service_to:
            out.append(Finding("date_order", f"{where}: its date is outside the claim's dates.", "service_date", ln))
    return out


def _duplicates(claim: Claim, lines: list[ClaimLine]) -> list[Finding]:
    others = (ClaimLine.objects.filter(claim__patient_id=claim.patient_id, claim__status__in=OPEN_CLAIM_STATUSES,
                                       claim__rank=claim.rank, service_date__in={ln.service_date for ln in lines})
              .exclude(claim_id=claim.pk).exclude(claim__frequency__in=("7", "8"))
              .exclude(claim_id=claim.original_claim_id or 0).select_related("claim"))
    if claim.frequency != "1":
        return []
    seen = {(o.procedure_code, o.service_date, o.modifiers): o.claim for o in others}
    out = []
    for ln in lines:
        other = seen.get((ln.procedure_code, ln.service_date, ln.modifiers))
        if other is not None:
            out.append(Finding("duplicate", f"Line {ln.sequence} ({ln.procedure_code}) is already billed on claim "
                                            f"{other.claim_number} for the same day; close one of them or add the "
                                            "modifier that tells them apart (e.g. 76, 59).", "procedure_code", ln))
    return out


def _payer_rules(claim: Claim, lines: list[ClaimLine], rules: list[PayerRule] | None = None) -> list[Finding]:
    if rules is None:
        rules = list(PayerRule.objects.filter(organization_id=claim.organization_id, is_active=True)
                     .filter(payer__isnull=True) | PayerRule.objects.filter(organization_id=claim.organization_id,
                                                                              is_active=True, payer_id=claim.payer_id))
    if not rules:
        return []
    auths = list(PriorAuthorization.objects.filter(patient_id=claim.patient_id, coverage_id=claim.coverage_id,
                                                   starts_on__lte=claim.service_from, ends_on__gte=claim.service_to))
    dx = [c.upper() for c in claim.diagnosis_codes or []]
    out: list[Finding] = []
    for rule in rules:
        codes, values = set(rule.code_list), rule.value_list
        for ln in lines:
            if ln.procedure_code.upper() not in codes:
                continue
            where = f"Line {ln.sequence} ({ln.procedure_code})"
            extra = f" {rule.message}" if rule.message else ""
            if rule.kind == PayerRuleKind.REQUIRE_MODIFIER and not set(ln.modifier_list) & set(values):
                out.append(Finding("payer_require_modifier", f"{where}: {claim.payer.name} needs one of the modifiers "
                                   f"{', '.join(values)}.{extra}", "modifiers", ln, rule.severity))
            elif rule.kind == PayerRuleKind.FORBID_CODE:
                out.append(Finding("payer_forbid_code", f"{where}: {claim.payer.name} does not cover this code; bill "
                                   f"the patient or use a covered code.{extra}", "procedure_code", ln, rule.severity))
            elif rule.kind == PayerRuleKind.REQUIRE_AUTH:
                ok = [a for a in auths if ln.procedure_code.upper() in a.code_list and a.units_left >= ln.units]
                if not ok:
                    out.append(Finding("payer_require_auth", f"{where}: {claim.payer.name} needs a prior authorisation "
                                       f"in force on {ln.service_date:%m/%d/%Y} with {ln.units} unit(s) left; record it "
                                       f"on the patient's coverage.{extra}", "prior_authorization", ln, rule.severity))
            elif rule.kind == PayerRuleKind.MAX_UNITS and values:
                try:
                    limit = int(values[0])
                except ValueError:
                    continue
                day_units = sum(o.units for o in lines if o.procedure_code == ln.procedure_code
                                and o.service_date == ln.service_date)
                if day_units > limit:
                    out.append(Finding("payer_max_units", f"{where}: {claim.payer.name} pays at most {limit} unit(s) a "
                                       f"day; the claim has {day_units}.{extra}", "units", ln, rule.severity))
            elif rule.kind == PayerRuleKind.REQUIRE_DIAGNOSIS_PREFIX:
                pointed = [dx[p - 1] for p in ln.pointer_list if 1 <= p <= len(dx)]
                if not any(code.startswith(prefix) for code in pointed for prefix in values):
                    out.append(Finding("payer_require_dx", f"{where}: {claim.payer.name} pays this code only with a "
                                       f"diagnosis starting {', '.join(values)}.{extra}", "diagnosis_pointers", ln,
                                       rule.severity))
    return out


def payer_rule_findings(claim: Claim, rules: list[PayerRule]) -> list[Finding]:
    """What these rules alone (active or not) find on the claim, saving nothing: the payer rule page's preview."""
    return _payer_rules(claim, list(claim.lines.all()), rules=rules)


def claim_findings(claim: Claim, *, today: date | None = None) -> list[Finding]:
    """Every edit the claim fails, without saving anything."""
    today = today or timezone.localdate()
    lines = list(claim.lines.all())
    return (_claim_edits(claim, lines, today) + _line_edits(claim, lines) + _duplicates(claim, lines)
            + _payer_rules(claim, lines))


@transaction.atomic
def claim_scrub(*, claim: Claim, actor, today: date | None = None) -> Claim:
    """Scrub a draft (or re-scrub a scrubbed) claim: replace its findings; with no errors it becomes scrubbed,
    otherwise it stays (or goes back to) draft."""
    claim = (Claim.objects.select_for_update(of=("self",))
             .select_related("patient", "coverage", "payer", "organization", "rendering_provider").get(pk=claim.pk))
    if claim.organization_id != actor.organization_id:
        raise ValidationError({"claim": "The claim belongs to another practice."})
    if claim.status not in (ClaimStatus.DRAFT, ClaimStatus.SCRUBBED):
        raise ValidationError({"status": f"A claim that is {claim.get_status_display().lower()} is not scrubbed again; "
                                         "correct it instead."})
    findings = claim_findings(claim, today=today)
    claim.findings.all().delete()
    ScrubFinding.objects.bulk_create([ScrubFinding(claim=claim, line=f.line, severity=f.severity, rule=f.rule,
                                                   field=f.field[:60], message=f.message[:300]) for f in findings])
    errors = sum(1 for f in findings if f.severity == ScrubSeverity.ERROR)
    before = claim.status
    claim.scrub_errors, claim.scrub_warnings = errors, len(findings) - errors
    claim.scrubbed_at = timezone.now()
    claim.status = ClaimStatus.DRAFT if errors else ClaimStatus.SCRUBBED
    claim.save(update_fields=["scrub_errors", "scrub_warnings", "scrubbed_at", "status", "updated_at"])
    text = f"{errors} error(s), {len(findings) - errors} warning(s)" if findings else "Clean"
    ClaimEvent.objects.create(claim=claim, kind=ClaimEventKind.SCRUB, from_status=before, to_status=claim.status,
                              text=text, actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit_event(action="claim.scrubbed", actor=actor, target=claim, patient=claim.patient,
                summary=f"Claim {claim.claim_number} scrubbed: {text}")
    return claim
