"""Encounters, from the visit to posted charges: coding (diagnoses and services priced from the fee schedule),
the review that catches problems before anything is billed, posting, and voiding.

Posting opens one receivable item per service line and posts one entry per encounter (Dr patient receivables,
Cr patient service revenue for the encounter's department); `encounters_post` posts a whole review queue's
worth in one batch. A patient's unapplied credit (a copay taken at check-in) is applied to the new charges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_event_rows
from clinicdesk.core.batch_sql import column_set, model_new
from clinicdesk.core.collector import collector_paused
from clinicdesk.core.models import Location, Organization, User
from clinicdesk.core.money import format_money, round_money
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import OpenItem
from clinicdesk.ledger.selectors import item_balances
from clinicdesk.ledger.services import EntrySpec, LineSpec, account_for, entries_post, entry_reverse, open_items_create
from clinicdesk.patients.models import Patient

from ..choices import EncounterStatus, PlaceOfService
from ..models import Encounter, EncounterDiagnosis, EncounterSupply, ServiceLine
from ..models.charges import MAX_DIAGNOSES, MAX_MODIFIERS, MAX_POINTERS
from .supplies import SupplyInput, supplies_build, supplies_of, supplies_put_back, supplies_use

# Appointments that were seen can be billed; the others were not.
BILLABLE_APPOINTMENT_STATUSES = ("arrived", "roomed", "with_provider", "completed")


@dataclass(frozen=True)
class ServiceInput:
    """One service as the coder enters it. `unit_price` None means: price it from the fee schedule."""

    code: str
    units: int = 1
    modifiers: str = ""
    pointers: str = "1"
    unit_price: Decimal | None = None
    rendering_provider_id: int | None = None


def _department_of(provider):
    return getattr(provider, "department_id", None)


@transaction.atomic
def encounter_from_appointment(*, appointment, actor) -> Encounter:
    """The encounter for a seen appointment; made once, the second call returns it."""
    existing = Encounter.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    if appointment.status not in BILLABLE_APPOINTMENT_STATUSES:
        raise ValidationError({"appointment": f"A {appointment.get_status_display().lower()} appointment is not billed."})
    encounter = Encounter(
        organization_id=appointment.organization_id, patient=appointment.patient, appointment=appointment,
        provider=appointment.provider, location=appointment.location, department_id=_department_of(appointment.provider),
        service_date=timezone.localtime(appointment.starts_at, _zone(appointment.location)).date(),
        place_of_service=PlaceOfService.OFFICE, coded_by=None,
    )
    encounter.full_clean(exclude=["superbill", "charge_entry"])
    encounter.save()
    audit_event(action="encounter.created", actor=actor, target=encounter, patient=appointment.patient,
                summary=f"Encounter for the visit of {encounter.service_date:%m/%d/%Y}")
    return encounter


def _zone(location: Location):
    import zoneinfo

    return zoneinfo.ZoneInfo(location.time_zone)


@transaction.atomic
def encounter_create(*, patient, provider, location, service_date: date, actor, department=None,
                     place_of_service: str = PlaceOfService.OFFICE) -> Encounter:
    """An encounter without an appointment (a nursing-home round, a visit logged after the fact)."""
    if patient.organization_id != location.organization_id or provider.organization_id != location.organization_id:
        raise ValidationError({"patient": "Patient, provider and location must belong to one organization."})
    if service_date > timezone.localdate():
        raise ValidationError({"service_date": "A service date cannot be in the future."})
    encounter = Encounter(
        organization_id=location.organization_id, patient=patient, provider=provider, location=location,
        department=department, service_date=service_date, place_of_service=place_of_service,
    )
    if department is None:
        encounter.department_id = _department_of(provider)
    encounter.full_clean(exclude=["superbill", "charge_entry", "appointment"])
    encounter.save()
    audit_event(action="encounter.created", actor=actor, target=encounter, patient=patient,
                summary=f"Encounter of {service_date:%m/%d/%Y}")
    return encounter


def _editable(encounter: Encounter) -> Encounter:
    locked = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if not locked.is_editable:
        raise ValidationError({"status": f"A {locked.get_status_display().lower()} encounter cannot be changed."})
    return locked


@transaction.atomic
def encounter_code(*, encounter: Encounter, diagnoses: Sequence[str], services: Sequence[ServiceInput], actor,
                   place_of_service: str | None = None, supplies: Sequence[SupplyInput] | None = None) -> Encounter:
    """Replace the encounter's diagnoses (ICD-10-CM, billable codes only, in claim order), services (priced from
    the fee schedule on the service date) and, when given, the supplies used for them (None keeps those coded).
    Every problem is refused naming the line; nothing is saved then."""
    from ..icd10 import diagnosis_check
    from .codes import fee_lookup, procedure_check

    encounter = _editable(encounter)
    if place_of_service is not None:
        if place_of_service not in PlaceOfService.values:
            raise ValidationError({"place_of_service": f"Unknown place of service '{place_of_service}'."})
        encounter.place_of_service = place_of_service
    errors: dict[str, list[str]] = {}
    cleaned_dx = []
    if len(diagnoses) > MAX_DIAGNOSES:
        errors.setdefault("diagnoses", []).append(f"At most {MAX_DIAGNOSES} diagnoses on one encounter.")
    seen = set()
    for n, raw in enumerate(diagnoses, start=1):
        try:
            hit = diagnosis_check(raw)
        except ValidationError as exc:
            errors.setdefault("diagnoses", []).append(f"Diagnosis {n}: {' '.join(exc.messages)}")
            continue
        if hit.code in seen:
            errors.setdefault("diagnoses", []).append(f"Diagnosis {n}: {hit.code} is already listed.")
            continue
        seen.add(hit.code)
        cleaned_dx.append(hit)
    built: list[ServiceLine] = []
    for n, service in enumerate(services, start=1):
        where = f"Service {n}"
        code = (service.code or "").strip().upper()
        modifiers = ",".join(m.strip().upper() for m in (service.modifiers or "").replace(" ", ",").split(",") if m.strip())
        try:
            procedure = procedure_check(organization=encounter.organization, code=code)
        except ValidationError as exc:
            errors.setdefault("services", []).append(f"{where}: {' '.join(exc.messages)}")
            continue
        if not isinstance(service.units, int) or service.units < 1 or service.units > 999:
            errors.setdefault("services", []).append(f"{where}: units must be a whole number from 1 to 999.")
            continue
        if len([m for m in modifiers.split(",") if m]) > MAX_MODIFIERS:
            errors.setdefault("services", []).append(f"{where}: at most {MAX_MODIFIERS} modifiers.")
            continue
        try:
            pointers = [int(p) for p in str(service.pointers).replace(" ", ",").split(",") if p]
        except ValueError:
            errors.setdefault("services", []).append(f"{where}: diagnosis pointers are numbers such as 1,2.")
            continue
        if not pointers or len(pointers) > MAX_POINTERS or len(set(pointers)) != len(pointers):
            errors.setdefault("services", []).append(f"{where}: point at one to {MAX_POINTERS} different diagnoses.")
            continue
        if any(p < 1 or p > len(diagnoses) for p in pointers):
            errors.setdefault("services", []).append(
                f"{where}: pointer {max(pointers)} does not match a diagnosis (there are {len(diagnoses)}).")
            continue
        if service.unit_price is None:
            try:
                fee = fee_lookup(organization=encounter.organization, code=code, modifiers=modifiers,
                                 on_date=encounter.service_date)
            except ValidationError as exc:
                errors.setdefault("services", []).append(f"{where}: {' '.join(exc.messages)}")
                continue
            unit_price = fee.price
        else:
            unit_price = service.unit_price
            if not isinstance(unit_price, Decimal) or unit_price < 0 or round_money(unit_price) != unit_price:
                errors.setdefault("services", []).append(f"{where}: the price must be a positive amount in cents.")
                continue
        built.append(ServiceLine(
            encounter=encounter, sequence=n, procedure_code=code, code_system=procedure.code_system, modifiers=modifiers,
            description=procedure.description[:200], units=service.units, unit_price=unit_price,
            amount=round_money(unit_price * service.units), diagnosis_pointers=",".join(str(p) for p in pointers),
            rendering_provider_id=service.rendering_provider_id,
        ))
    rendering = {s.rendering_provider_id for s in built if s.rendering_provider_id}
    if rendering:
        from clinicdesk.core.models import User

        known = set(User.objects.filter(pk__in=rendering, organization_id=encounter.organization_id)
                    .values_list("pk", flat=True))
        for line in built:
            if line.rendering_provider_id and line.rendering_provider_id not in known:
                errors.setdefault("services", []).append(f"Service {line.sequence}: no such rendering provider.")
    if supplies is not None:
        new_supplies = supplies_build(encounter=encounter, supplies=supplies, line_count=len(services), errors=errors)
    else:
        for kept in encounter.supplies.all():
            if kept.line > len(services):
                errors.setdefault("supplies", []).append(
                    f"Supply {kept.sequence}: service {kept.line} is no longer coded; remove the supply first.")
    if errors:
        raise ValidationError(errors)
    if supplies is not None:
        encounter.supplies.all().delete()
        EncounterSupply.objects.bulk_create(new_supplies)
    encounter.diagnoses.all().delete()
    encounter.services.all().delete()
    EncounterDiagnosis.objects.bulk_create([
        EncounterDiagnosis(encounter=encounter, sequence=n, code=hit.code, description=hit.description[:250])
        for n, hit in enumerate(cleaned_dx, start=1)
    ])
    ServiceLine.objects.bulk_create(built)
    encounter.coded_by = actor if getattr(actor, "is_authenticated", False) else None
    encounter.review_flags = []
    encounter.save(update_fields=["coded_by", "place_of_service", "review_flags", "updated_at"])
    audit_event(action="encounter.coded", actor=actor, target=encounter, patient=encounter.patient,
                summary=f"{len(cleaned_dx)} diagnoses, {len(built)} services, "
                        f"{format_money(sum((s.amount for s in built), Decimal('0')))}"
                        + (f", {len(new_supplies)} supplies" if supplies is not None else ""))
    return encounter


# --- the scrubber: checks that make sense before any payer is involved ------------------------------------

# Office, preventive and consultation visits (evaluation and management).
_EM_RANGES = (("99202", "99215"), ("99241", "99245"), ("99381", "99397"))
# Procedures that bundle a same-day visit unless the visit was significant and separately identifiable
# (modifier 25 on the visit): minor surgery, vaccine and drug administration, physical medicine, manipulation.
# Labs, radiology and ECGs are diagnostic tests and do not need it.
_BUNDLING_RANGES = (("10004", "69990"), ("90460", "90474"), ("96360", "96549"), ("97010", "97799"),
                    ("98925", "98943"))
_BUNDLING_EXCEPTIONS = frozenset({"36415", "36416"})  # a blood draw sits in the surgery range but bundles nothing
EM_UNIT_LIMIT = 1
DRUG_UNIT_LIMIT = 100  # HCPCS J codes bill per dose unit (1 mg, 10 mg …)
UNIT_LIMIT = 12


def _in_ranges(code: str, ranges) -> bool:
    return len(code) == 5 and code.isdigit() and any(lo <= code <= hi for lo, hi in ranges)


def is_evaluation_and_management(code: str) -> bool:
    return _in_ranges(code, _EM_RANGES)


def bundles_a_visit(code: str) -> bool:
    return code not in _BUNDLING_EXCEPTIONS and _in_ranges(code, _BUNDLING_RANGES)


def unit_limit(code: str) -> int:
    """A sane maximum of units on one line: more is almost always a typo (15 for 1.5, minutes for units)."""
    if is_evaluation_and_management(code):
        return EM_UNIT_LIMIT
    if code.startswith("J"):
        return DRUG_UNIT_LIMIT
    return UNIT_LIMIT


def encounter_problems(encounter: Encounter, *, diagnoses: Sequence[EncounterDiagnosis] | None = None,
                       services: Sequence[ServiceLine] | None = None) -> list[dict[str, str]]:
    """What stops an encounter from being billed, each naming the field: the review queue shows these.

    Reads the encounter's diagnoses, services (with their rendering providers) and provider; prefetch them
    (see selectors.encounters), or pass the diagnoses and services in sequence order, and this makes no query."""
    from ..icd10 import diagnosis_check

    problems = []
    diagnoses = list(encounter.diagnoses.all()) if diagnoses is None else list(diagnoses)
    services = list(encounter.services.all()) if services is None else list(services)
    if not diagnoses:
        problems.append({"field": "diagnoses", "message": "No diagnosis is coded."})
    if not services:
        problems.append({"field": "services", "message": "No service is coded."})
    not_billable: dict[int, str] = {}
    for dx in diagnoses:
        try:
            diagnosis_check(dx.code)
        except ValidationError as exc:
            not_billable[dx.sequence] = dx.code
            problems.append({"field": "diagnoses", "message": f"Diagnosis {dx.sequence}: {' '.join(exc.messages)}"})
    seen_lines: dict[tuple[str, str], int] = {}
    procedures = [line for line in services if bundles_a_visit(line.procedure_code)]
    for line in services:
        where = f"Service {line.sequence}"
        if any(p > len(diagnoses) for p in line.pointer_list):
            problems.append({"field": "services", "message": f"{where}: a pointer names no diagnosis."})
        headers = [p for p in line.pointer_list if p in not_billable]
        if headers:
            problems.append({"field": "services", "message": f"{where}: points at diagnosis {headers[0]} "
                                                             f"({not_billable[headers[0]]}), a heading."})
        key = (line.procedure_code, line.modifiers)
        if key in seen_lines:
            problems.append({"field": "services", "message": f"{where}: repeats service {seen_lines[key]} "
                                                             f"({line}); bill one line with more units."})
        else:
            seen_lines[key] = line.sequence
        limit = unit_limit(line.procedure_code)
        if line.units > limit:
            problems.append({"field": "services", "message": f"{where}: {line.units} units of {line.procedure_code} "
                                                             f"is more than {limit}; check the units."})
        if (is_evaluation_and_management(line.procedure_code) and procedures
                and "25" not in line.modifier_list):
            problems.append({"field": "services", "message": f"{where}: missing modifier 25: {line.procedure_code} "
                                                             f"is billed with {procedures[0].procedure_code} the same day."})
        if line.rendering_provider_id and not line.rendering_provider.is_active:
            problems.append({"field": "services", "message": f"{where}: the rendering provider "
                                                             f"{line.rendering_provider} is no longer active."})
    if not encounter.provider.is_active:
        problems.append({"field": "provider", "message": f"The provider {encounter.provider} is no longer active."})
    if encounter.service_date > timezone.localdate():
        problems.append({"field": "service_date", "message": "The service date is in the future."})
    return problems


@transaction.atomic
def encounter_submit(*, encounter: Encounter, actor) -> Encounter:
    """The coder is done: the encounter goes to the biller's review queue with whatever problems it has flagged."""
    encounter = _editable(encounter)
    encounter.review_flags = encounter_problems(encounter)
    encounter.status = EncounterStatus.IN_REVIEW
    encounter.save(update_fields=["review_flags", "status", "updated_at"])
    audit_event(action="encounter.submitted", actor=actor, target=encounter, patient=encounter.patient,
                summary=f"Sent to review with {len(encounter.review_flags)} problem(s)")
    return encounter


@transaction.atomic
def encounter_hold(*, encounter: Encounter, reason: str, actor) -> Encounter:
    """The biller sends an encounter back (a missing modifier, a question for the doctor)."""
    if not reason.strip():
        raise ValidationError({"hold_reason": "Say what needs fixing."})
    encounter = _editable(encounter)
    encounter.status = EncounterStatus.ON_HOLD
    encounter.hold_reason = reason.strip()[:300]
    encounter.save(update_fields=["status", "hold_reason", "updated_at"])
    audit_event(action="encounter.held", actor=actor, target=encounter, patient=encounter.patient, summary=reason[:200])
    return encounter


# What posting a batch reads of each encounter's patient (the display name, the MRN of the audit label) and
# provider (active, and the name in a problem message); the rest of those rows is left unread.
_PATIENT_READ = {"id", "organization", "mrn", "first_name", "preferred_name", "last_name"}
_PROVIDER_READ = {"id", "organization", "username", "first_name", "last_name", "title", "is_active", "department"}
_UNREAD_PATIENT = tuple(f"patient__{f.name}" for f in Patient._meta.concrete_fields if f.name not in _PATIENT_READ)
_UNREAD_PROVIDER = tuple(f"provider__{f.name}" for f in User._meta.concrete_fields if f.name not in _PROVIDER_READ)


def encounter_post(*, encounter: Encounter, actor) -> Encounter:
    """Approve one reviewed encounter and post its charges."""
    return encounters_post(encounters=[encounter], actor=actor)[0]


@collector_paused()
@transaction.atomic
def encounters_post(*, encounters: Sequence[Encounter], actor) -> list[Encounter]:
    """Approve reviewed encounters and post their charges in one batch. Posting an encounter twice changes
    nothing; an encounter with problems refuses the whole batch, naming it."""
    if not encounters:
        return []
    ids = [e.pk for e in encounters]
    # The patient and provider with only what the checks, memos and audit labels read: whole rows of a batch cost
    # more to build than to lock.
    locked = {e.pk: e for e in Encounter.objects.select_for_update(of=("self",))
              .select_related("patient", "provider")
              .defer(*_UNREAD_PATIENT, *_UNREAD_PROVIDER)
              .filter(pk__in_array=ids)}
    # Diagnoses and services of the batch in two queries, grouped here: `prefetch_related` would build a related
    # manager and a queryset per encounter. Ordered by their own columns: their default ordering goes through the
    # encounter and would join it in.
    diagnoses_of: dict[int, list[EncounterDiagnosis]] = defaultdict(list)
    for dx in EncounterDiagnosis.objects.filter(encounter_id__in_array=ids).order_by("encounter_id", "sequence"):
        diagnoses_of[dx.encounter_id].append(dx)
    services_by_encounter: dict[int, list[ServiceLine]] = defaultdict(list)
    for line in (ServiceLine.objects.filter(encounter_id__in_array=ids).select_related("rendering_provider")
                 .order_by("encounter_id", "sequence")):
        line._state.fields_cache["encounter"] = locked[line.encounter_id]
        services_by_encounter[line.encounter_id].append(line)
    organization_ids = {e.organization_id for e in locked.values()}
    if len(organization_ids) > 1:
        raise ValidationError({"encounters": "Encounters of several organizations cannot be posted together."})
    organization = Organization.objects.get(pk=organization_ids.pop())
    for encounter in locked.values():
        encounter.organization = organization
    todo = [locked[i] for i in ids if locked[i].status != EncounterStatus.POSTED]
    for encounter in todo:
        if encounter.status not in (EncounterStatus.IN_REVIEW, EncounterStatus.ON_HOLD, EncounterStatus.DRAFT):
            raise ValidationError({"status": f"Encounter of {encounter.patient} on {encounter.service_date:%m/%d/%Y} "
                                             f"is {encounter.get_status_display().lower()}."})
        problems = encounter_problems(encounter, diagnoses=diagnoses_of[encounter.pk],
                                      services=services_by_encounter[encounter.pk])
        if problems:
            raise ValidationError({"encounters": [
                f"{encounter.patient} {encounter.service_date:%m/%d/%Y}: {p['message']}" for p in problems]})
    # The batch's supplies in one query; they leave the shelf for the patient in this transaction.
    supplies_by_encounter = supplies_of([e.pk for e in todo]) if todo else {}
    if supplies_by_encounter:
        supplies_use(encounters=todo, supplies_by_encounter=supplies_by_encounter, actor=actor)
    new_items: list[OpenItem] = []
    owners: list[ServiceLine] = []
    for encounter in todo:
        for line in services_by_encounter.get(encounter.pk, []):
            if line.amount > 0:
                new_items.append(model_new(
                    OpenItem, patient_id=encounter.patient_id, party_kind=PartyKind.PATIENT, service_date=encounter.service_date,
                    description=f"{line.procedure_code} {line.description}"[:200],
                ))
                owners.append(line)
    open_items_create(organization=organization, items=new_items)
    for line, item in zip(owners, new_items, strict=True):
        line.item = item
    column_set(ServiceLine, "item", [(line.pk, line.item.pk) for line in owners])
    specs = []
    # Accounts looked up once per batch (the ledger's cache of them only fills when a transaction commits).
    revenue = account_for(organization, AccountRole.SERVICE_REVENUE) if new_items else None
    for encounter in todo:
        lines = []
        for line in services_by_encounter.get(encounter.pk, []):
            if line.item is None:
                continue
            lines.append(LineSpec(account=line.item.account, amount=line.amount, item=line.item,
                                  department=encounter.department_id, memo=str(line)))
            lines.append(LineSpec(account=revenue, amount=-line.amount,
                                  department=encounter.department_id, patient=encounter.patient_id, memo=str(line)))
        specs.append(EntrySpec(entry_date=encounter.service_date, kind=EntryKind.CHARGE, lines=lines,
                               memo=f"Charges for {encounter.patient} on {encounter.service_date:%m/%d/%Y}",
                               reference=f"encounter:{encounter.pk}") if lines else None)
    posted = entries_post(organization=organization, entries=[s for s in specs if s is not None], actor=actor)
    entries = iter(posted)
    now = timezone.now()
    actor_ok = actor if getattr(actor, "is_authenticated", False) else None
    for encounter, spec in zip(todo, specs, strict=True):
        encounter.charge_entry = next(entries) if spec is not None else None
        encounter.status = EncounterStatus.POSTED
        encounter.posted_at = now
        encounter.reviewed_at = now
        encounter.reviewed_by = actor_ok
        encounter.review_flags = []
        encounter.updated_at = now
    # Every field but the entry is the same for the whole batch: one UPDATE that joins the entries in by id.
    column_set(Encounter, "charge_entry", [(e.pk, e.charge_entry.pk if e.charge_entry else None) for e in todo],
               status=EncounterStatus.POSTED, posted_at=now, reviewed_at=now,
               reviewed_by=actor_ok.pk if actor_ok is not None else None, review_flags=[],
               updated_at=now)
    audit_event_rows([
        {"action": "encounter.posted", "actor": actor, "target": encounter, "patient": encounter.patient,
         "summary": f"Charges posted: {format_money(sum((s.amount for s in services_by_encounter.get(encounter.pk, [])), Decimal('0')))}"}
        for encounter in todo
    ])
    _apply_credit_to_new_charges(organization=organization, encounters=todo, actor=actor,
                                 services_by_encounter=services_by_encounter)
    return [locked[i] for i in ids]


def _apply_credit_to_new_charges(*, organization, encounters, actor, services_by_encounter=None) -> None:
    """A copay collected before the visit was coded waits as a credit; apply it to the visit's new charges.
    The batch's patients' credits are summed in one query; only those holding a credit go on to `credit_apply`."""
    from django.db.models import Sum

    from clinicdesk.ledger.models import JournalLine

    from .payments import credit_apply

    # By the credit account's id and without ordering, so the (patient, account) index answers it.
    credit = account_for(organization, AccountRole.PATIENT_CREDIT)
    holding = set(
        JournalLine.objects.filter(organization_id=organization.pk, patient_id__in_array=[e.patient_id for e in encounters],
                                   account=credit)
        .order_by().values("patient_id").annotate(total=Sum("amount")).filter(total__lt=0)
        .values_list("patient_id", flat=True))
    for encounter in encounters:
        if encounter.patient_id in holding:
            lines = (services_by_encounter or {}).get(encounter.pk) or encounter.services.all()
            credit_apply(patient=encounter.patient, actor=actor, reason="Credit applied to new charges",
                         only_items=[ln.item for ln in lines if ln.item_id])


@transaction.atomic
def encounter_void(*, encounter: Encounter, reason: str, actor) -> Encounter:
    """Take back a posted encounter's charges with a reversal, as long as nothing has been paid or adjusted on
    them (otherwise the biller corrects with an adjustment), and put the supplies it used back on the shelf."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the charges are voided."})
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if encounter.status == EncounterStatus.VOID:
        return encounter
    if encounter.status == EncounterStatus.POSTED and encounter.charge_entry_id:
        items = [ln.item_id for ln in encounter.services.all() if ln.item_id]
        charged = {ln.item_id: ln.amount for ln in encounter.services.all() if ln.item_id}
        balances = item_balances(item_ids=items)
        if any(balances[i] != charged[i] for i in items):
            raise ValidationError({"status": "Payments or adjustments are posted on these charges; "
                                             "adjust the balance instead of voiding."})
        entry_reverse(entry=encounter.charge_entry, memo=f"Void: {reason.strip()}"[:300], actor=actor)
    if encounter.status == EncounterStatus.POSTED:
        supplies_put_back(encounter=encounter, reason=reason.strip(), actor=actor)
    encounter.status = EncounterStatus.VOID
    encounter.hold_reason = reason.strip()[:300]
    encounter.save(update_fields=["status", "hold_reason", "updated_at"])
    audit_event(action="encounter.voided", actor=actor, target=encounter, patient=encounter.patient, summary=reason[:200])
    return encounter


__all__ = [
    "ServiceInput", "SupplyInput", "encounter_code", "encounter_create", "encounter_from_appointment", "encounter_hold",
    "encounter_post", "encounter_problems", "encounter_submit", "encounter_void", "encounters_post",
]


# --- visits billed in another system (the FHIR import) ---------------------------------------------------------


@dataclass(frozen=True)
class ImportedService:
    """One service line as another system billed it: its code as given, and the amount it charged."""

    code: str
    code_system: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class ImportedVisit:
    """A visit coded and billed elsewhere, to be held here as a posted encounter."""

    patient: Patient
    provider: User
    location: Location
    service_date: date
    services: Sequence[ImportedService]
    place_of_service: str = PlaceOfService.OFFICE


@transaction.atomic
def encounters_import(*, organization: Organization, visits: Sequence[ImportedVisit], actor) -> list[Encounter]:
    """Visits billed in another system become posted encounters charged as they were billed there, in one batch.

    Their diagnoses came in another code system than ICD-10-CM, so the services point at none and the coder's review
    is not run; the charges are posted like `encounters_post` posts them (one receivable item per service, one
    balanced entry per encounter). Any bad visit refuses the whole batch, naming it."""
    errors: list[str] = []
    today = timezone.localdate()
    for n, visit in enumerate(visits, start=1):
        where = f"Visit {n} ({visit.service_date:%m/%d/%Y})"
        if {visit.patient.organization_id, visit.provider.organization_id, visit.location.organization_id} != {organization.pk}:
            errors.append(f"{where}: patient, provider and location must belong to this organization.")
        if visit.service_date > today:
            errors.append(f"{where}: the service date is in the future.")
        if visit.place_of_service not in PlaceOfService.values:
            errors.append(f"{where}: unknown place of service '{visit.place_of_service}'.")
        for m, service in enumerate(visit.services, start=1):
            amount = service.amount
            if not isinstance(amount, Decimal) or amount < 0 or round_money(amount) != amount:
                errors.append(f"{where}, service {m}: the amount must be zero or more, in cents.")
            if not service.code or len(service.code) > 10 or len(service.code_system) > 5:
                errors.append(f"{where}, service {m}: '{service.code}' is not a code a service line can hold.")
    if errors:
        raise ValidationError({"encounters": errors})
    now = timezone.now()
    encounters = []
    for visit in visits:
        encounter = Encounter(
            organization=organization, patient=visit.patient, provider=visit.provider, location=visit.location,
            department_id=_department_of(visit.provider), service_date=visit.service_date,
            place_of_service=visit.place_of_service, status=EncounterStatus.POSTED, posted_at=now, reviewed_at=now,
        )
        encounter.full_clean(exclude=["superbill", "charge_entry", "appointment", "patient", "provider", "location",
                                      "organization", "department"])
        encounters.append(encounter)
    Encounter.objects.bulk_create(encounters)
    lines: list[ServiceLine] = []
    items: list[OpenItem] = []
    for encounter, visit in zip(encounters, visits, strict=True):
        for n, service in enumerate(visit.services, start=1):
            line = ServiceLine(encounter=encounter, sequence=n, procedure_code=service.code.upper(),
                               code_system=service.code_system, description=(service.description or service.code)[:200],
                               units=1, unit_price=service.amount, amount=service.amount, diagnosis_pointers="")
            if service.amount > 0:
                line.item = model_new(OpenItem, patient_id=encounter.patient_id, party_kind=PartyKind.PATIENT,
                                      service_date=encounter.service_date,
                                      description=f"{line.procedure_code} {line.description}"[:200])
                items.append(line.item)
            lines.append(line)
    open_items_create(organization=organization, items=items)
    for line in lines:
        line.item_id = line.item.pk if line.item is not None else None
    ServiceLine.objects.bulk_create(lines)
    revenue = account_for(organization, AccountRole.SERVICE_REVENUE) if items else None
    specs, charged = [], []
    for encounter in encounters:
        entry_lines = []
        for line in (ln for ln in lines if ln.encounter is encounter and ln.item is not None):
            entry_lines.append(LineSpec(account=line.item.account, amount=line.amount, item=line.item,
                                        department=encounter.department_id, memo=str(line)))
            entry_lines.append(LineSpec(account=revenue, amount=-line.amount, department=encounter.department_id,
                                        patient=encounter.patient_id, memo=str(line)))
        if entry_lines:
            specs.append(EntrySpec(entry_date=encounter.service_date, kind=EntryKind.CHARGE, lines=entry_lines,
                                   memo=f"Charges for {encounter.patient} on {encounter.service_date:%m/%d/%Y} "
                                        f"(imported)", reference=f"encounter:{encounter.pk}"))
            charged.append(encounter)
    for encounter, entry in zip(charged, entries_post(organization=organization, entries=specs, actor=actor),
                                strict=True):
        encounter.charge_entry = entry
    column_set(Encounter, "charge_entry", [(e.pk, e.charge_entry.pk) for e in charged])
    audit_event_rows([
        {"action": "encounter.imported", "actor": actor, "target": encounter, "patient": encounter.patient,
         "summary": f"Visit of {encounter.service_date:%m/%d/%Y} imported with charges of "
                    f"{format_money(sum((ln.amount for ln in lines if ln.encounter is encounter), Decimal('0')))}"}
        for encounter in encounters
    ])
    return encounters
