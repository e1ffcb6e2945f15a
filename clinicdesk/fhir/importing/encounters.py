"""Encounter and Claim resources: each visit billed by a Claim becomes a posted encounter whose service lines are the
claim's lines the billing app can hold (see codes.py), charged at the claim's net amounts through
`encounters_import`. A claim line it cannot hold is skipped with its reason and amount; a visit left with no line
is skipped too (the back office keeps visits for their charges)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError

from clinicdesk.billing.choices import PlaceOfService
from clinicdesk.billing.models import Encounter, ServiceLine
from clinicdesk.billing.services.charges import ImportedService, ImportedVisit, encounters_import
from clinicdesk.core.money import round_money
from clinicdesk.patients.models import Patient

from . import references
from .bundle import Bundle, Entry
from .codes import held_code
from .identity import ImportContext
from .report import CREATED, SKIPPED

# Encounter.class (v3 ActCode) -> place of service.
PLACE_OF_SERVICE = {"AMB": PlaceOfService.OFFICE, "EMER": PlaceOfService.EMERGENCY, "IMP": PlaceOfService.INPATIENT,
                    "ACUTE": PlaceOfService.INPATIENT, "HH": PlaceOfService.HOME, "VR": PlaceOfService.TELEHEALTH,
                    "SS": PlaceOfService.OUTPATIENT, "OBSENC": PlaceOfService.OUTPATIENT}
ZERO = Decimal("0")


@dataclass
class BilledVisit:
    """A visit imported in this run: its encounter, and the service line of each claim item sequence held."""

    encounter: Encounter
    claim_entry: Entry
    lines: dict[int, ServiceLine] = field(default_factory=dict)


def _money(entry: Entry, value, path: str) -> Decimal:
    if not isinstance(value, (Decimal, int)) or isinstance(value, bool):
        raise entry.refused(f"'{value}' is not an amount.", path)
    amount = round_money(Decimal(value))
    if amount < 0:
        raise entry.refused(f"the amount {amount} is negative.", path)
    return amount


def _day(entry: Entry, value, path: str) -> date:
    if not value:
        raise entry.refused("a date is required.", path)
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise entry.refused(f"'{value}' is not a date.", path) from None


def _claim_of_encounters(bundle: Bundle) -> dict[str, Entry]:
    """The Claim entry that bills each Encounter (by the encounter's full URL)."""
    claims: dict[str, Entry] = {}
    for entry in bundle.of("Claim"):
        for n, item in enumerate(entry.resource.get("item") or []):
            for m, ref in enumerate(item.get("encounter") or []):
                target = bundle.resolve(entry, ref, f"Claim.item[{n}].encounter[{m}]", kinds=("Encounter",))
                claims.setdefault(target.full_url, entry)
    return claims


def _services(ctx: ImportContext, claim: Entry) -> tuple[list[ImportedService], list[int]]:
    """The claim's lines a service line can hold, and the item sequence of each."""
    resource = claim.resource
    items = resource.get("item") or []
    nets = [(_money(claim, i["net"].get("value"), f"Claim.item[{n}].net.value") if i.get("net") else None)
            for n, i in enumerate(items)]
    total = _money(claim, resource["total"].get("value"), "Claim.total.value") if resource.get("total") else None
    unpriced = [n for n, net in enumerate(nets) if net is None]
    rest = (total - sum((x for x in nets if x is not None), ZERO)) if total is not None else ZERO
    services, sequences = [], []
    for n, item in enumerate(items):
        amount = nets[n] if nets[n] is not None else (rest if len(unpriced) == 1 and rest > 0 else ZERO)
        codings = (item.get("productOrService") or {}).get("coding") or []
        code, system, why = held_code(codings)
        display = (codings[0].get("display") if codings else "") or (item.get("productOrService") or {}).get("text", "")
        if code is None:
            ctx.report.add(SKIPPED, "claim lines", reason=why)
            ctx.report.add_money("charges not imported (lines skipped)", amount)
            continue
        services.append(ImportedService(code=code, code_system=system, description=display or code, amount=amount))
        sequences.append(item.get("sequence", n + 1))
    return services, sequences


def visits_import(ctx: ImportContext, bundle: Bundle, patients: dict[str, Patient]) -> dict[str, BilledVisit]:
    """Posted encounters for the bundle's billed visits; returns them by the full URL of their Claim."""
    claim_of = _claim_of_encounters(bundle)
    encounters = bundle.of("Encounter")
    ctx.load([("Encounter", e.source_id) for e in encounters])
    visits: list[ImportedVisit] = []
    pending: list[tuple[Entry, Entry, list[int]]] = []
    for entry in encounters:
        resource = entry.resource
        subject = bundle.resolve(entry, resource.get("subject"), "Encounter.subject", kinds=("Patient",))
        row = ctx.find("Encounter", entry.source_id)
        if row is not None:
            ctx.skip_imported("encounters", row, resource,
                              changed="it changed at the source, but posted charges are corrected in billing, not by an import")
            continue
        claim = claim_of.get(entry.full_url)
        if claim is None:
            ctx.report.add(SKIPPED, "encounters", reason="no Claim in the bundle bills the visit")
            continue
        claim_subject = bundle.resolve(claim, claim.resource.get("patient"), "Claim.patient", kinds=("Patient",))
        if claim_subject is not subject:
            raise claim.refused("the claim's patient is not the patient of the visit it bills.", "Claim.patient")
        if claim.resource.get("use", "claim") != "claim":
            ctx.report.add(SKIPPED, "encounters", reason=f"its Claim is a {claim.resource.get('use')}, not a claim")
            continue
        services, sequences = _services(ctx, claim)
        if not services:
            ctx.report.add(SKIPPED, "encounters", reason="none of its claim lines is a code the billing app holds")
            continue
        participants = resource.get("participant") or []
        performer = next((p for p in participants if any(
            c.get("code") in ("PPRF", "PRF", "ATND") for t in p.get("type") or [] for c in t.get("coding") or [])),
            participants[0] if participants else None)
        n = participants.index(performer) if performer else 0
        provider = references.practitioner(ctx, bundle, entry, (performer or {}).get("individual"),
                                           f"Encounter.participant[{n}].individual")
        place = ((resource.get("location") or [{}])[0].get("location")) or claim.resource.get("facility")
        where = references.location(ctx, bundle, entry, place, "Encounter.location[0].location")
        references.organization(ctx, resource.get("serviceProvider"))
        references.organization(ctx, claim.resource.get("provider"))
        period = resource.get("period") or {}
        visits.append(ImportedVisit(
            patient=patients[subject.full_url], provider=provider, location=where,
            service_date=_day(entry, period.get("start"), "Encounter.period.start"),
            services=services,
            place_of_service=PLACE_OF_SERVICE.get((resource.get("class") or {}).get("code"), PlaceOfService.OFFICE)))
        pending.append((entry, claim, sequences))
    if not visits:
        return {}
    try:
        made = encounters_import(organization=ctx.organization, visits=visits, actor=ctx.actor)
    except ValidationError as exc:
        first = pending[0][0]
        raise first.refused("the visits cannot be posted: " + "; ".join(exc.messages), "Encounter") from None
    lines: dict[int, list[ServiceLine]] = {}
    for line in ServiceLine.objects.filter(encounter__in=made).order_by("encounter_id", "sequence"):
        lines.setdefault(line.encounter_id, []).append(line)
    billed: dict[str, BilledVisit] = {}
    for encounter, visit, (entry, claim, sequences) in zip(made, visits, pending, strict=True):
        ctx.remember("Encounter", entry.source_id, encounter, resource=entry.resource,
                     display=f"{visit.service_date} {encounter.patient_id}")
        ctx.remember("Claim", claim.source_id, encounter, resource=claim.resource)
        held = lines.get(encounter.pk, [])
        billed[claim.full_url] = BilledVisit(encounter=encounter, claim_entry=claim,
                                             lines=dict(zip(sequences, held, strict=True)))
        ctx.report.add(CREATED, "encounters")
        ctx.report.add(CREATED, "charges", len(held))
        ctx.report.add_money("charges posted", sum((ln.amount for ln in held), ZERO))
    return billed
