"""Coverages: Coverage entries of the bundle, and for Synthea (whose claims name the payer only inside each
ExplanationOfBenefit) one coverage per patient and payer spanning the claims it paid.

Imported coverages are history: each is created through `coverage_create` and, when the bundle shows it ended (or
it only comes from old claims), ended through `coverage_end`, so it never takes the rank of a coverage the front
desk keeps. The member ID, when the bundle gives none, is recorded as UNKNOWN for the front desk to complete.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError

from clinicdesk.insurance.choices import CoverageRank, SubscriberRelationship
from clinicdesk.insurance.models import Coverage, Payer
from clinicdesk.insurance.services.coverage import coverage_create, coverage_end
from clinicdesk.patients.models import Patient

from . import references
from .bundle import Bundle, Entry
from .identity import ImportContext
from .report import CREATED, SKIPPED

UNKNOWN_MEMBER_ID = "UNKNOWN"
NO_INSURANCE = {"", "no_insurance", "no insurance", "self-pay", "self pay"}
RELATIONSHIPS = {"self": SubscriberRelationship.SELF, "spouse": SubscriberRelationship.SPOUSE,
                 "child": SubscriberRelationship.CHILD}


def payer_name(resource: dict) -> str:
    """The payer an ExplanationOfBenefit, Claim or Coverage names (by display; Synthea gives no identifier)."""
    for contained in resource.get("contained") or []:
        if contained.get("resourceType") == "Coverage":
            for payor in contained.get("payor") or []:
                if payor.get("display"):
                    return payor["display"].strip()
    if (resource.get("insurer") or {}).get("display"):
        return resource["insurer"]["display"].strip()
    for insurance in resource.get("insurance") or []:
        if (insurance.get("coverage") or {}).get("display"):
            return insurance["coverage"]["display"].strip()
    for payor in resource.get("payor") or []:
        if payor.get("display"):
            return payor["display"].strip()
    return ""


def is_insured(name: str) -> bool:
    return name.strip().lower() not in NO_INSURANCE


def _create(ctx: ImportContext, entry: Entry, *, patient: Patient, payer: Payer, start: date | None, end: date | None,
            member_id: str = "", relationship: str = SubscriberRelationship.SELF, ongoing: bool = False) -> Coverage:
    try:
        coverage = coverage_create(patient=patient, actor=ctx.actor, payer=payer, rank=CoverageRank.PRIMARY,
                                   relationship=relationship, member_id=(member_id or UNKNOWN_MEMBER_ID)[:40],
                                   effective_from=start)
        if not ongoing:
            coverage = coverage_end(coverage=coverage, actor=ctx.actor, on=end or start)
    except ValidationError as exc:
        raise entry.refused("coverage: " + "; ".join(f"{f}: {' '.join(m)}" for f, m in exc.message_dict.items()),
                            "Coverage") from None
    ctx.report.add(CREATED, "coverages")
    return coverage


def coverages_import(ctx: ImportContext, bundle: Bundle, patients: dict[str, Patient]) -> dict[tuple[int, int], Coverage]:
    """The coverage of each (patient id, payer id) the bundle's claims need, made where missing."""
    found: dict[tuple[int, int], Coverage] = {}
    for entry in bundle.of("Coverage"):
        resource = entry.resource
        beneficiary = bundle.resolve(entry, resource.get("beneficiary"), "Coverage.beneficiary", kinds=("Patient",))
        patient = patients[beneficiary.full_url]
        name = payer_name(resource)
        if not is_insured(name):
            ctx.report.add(SKIPPED, "coverages", reason="names no payer (self-pay)")
            continue
        payer = references.payer(ctx, name, entry)
        row = ctx.find("Coverage", entry.source_id)
        coverage = ctx.target("Coverage", entry.source_id, Coverage) if row is not None else None
        if coverage is not None:
            ctx.skip_imported("coverages", row, resource, changed="changes to it are made at the front desk")
        else:
            period = resource.get("period") or {}
            start = date.fromisoformat(str(period["start"])[:10]) if period.get("start") else None
            end = date.fromisoformat(str(period["end"])[:10]) if period.get("end") else None
            code = ((resource.get("relationship") or {}).get("coding") or [{}])[0].get("code", "self")
            coverage = _create(ctx, entry, patient=patient, payer=payer, start=start, end=end,
                               member_id=resource.get("subscriberId", ""), ongoing=end is None,
                               relationship=RELATIONSHIPS.get(code, SubscriberRelationship.SELF))
            ctx.remember("Coverage", entry.source_id, coverage, resource=resource, display=name)
        found[(patient.pk, payer.pk)] = coverage

    # Synthea: the payer of each claim, and the span of the claims each paid.
    spans: dict[tuple[str, str], list] = {}
    for entry in bundle.of("ExplanationOfBenefit"):
        resource = entry.resource
        name = payer_name(resource)
        if not is_insured(name):
            continue
        subject = bundle.resolve(entry, resource.get("patient"), "ExplanationOfBenefit.patient", kinds=("Patient",))
        day = _eob_day(entry)
        span = spans.setdefault((subject.full_url, name), [day, day, entry, subject])
        span[0], span[1] = min(span[0], day), max(span[1], day)
    for (patient_url, name), (start, end, entry, subject) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        patient = patients[patient_url]
        payer = references.payer(ctx, name, entry)
        if (patient.pk, payer.pk) in found:
            continue
        source_id = f"{subject.source_id}|{name.lower()}"
        coverage = ctx.target("Coverage", source_id, Coverage)
        if coverage is None:
            coverage = _create(ctx, entry, patient=patient, payer=payer, start=start, end=end)
            ctx.remember("Coverage", source_id, coverage, display=f"{name} ({start} to {end})")
        found[(patient.pk, payer.pk)] = coverage
    return found


def _eob_day(entry: Entry) -> date:
    resource = entry.resource
    when = (resource.get("billablePeriod") or {}).get("start") or resource.get("created")
    if not when:
        raise entry.refused("the claim answer has no date.", "ExplanationOfBenefit.created")
    return date.fromisoformat(str(when)[:10])
