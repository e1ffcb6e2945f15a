"""The demo practice's charges: superbills for family medicine and for chiropractic and massage, an encounter for
every completed visit of the past weeks, coded from the visit's type, most of them posted; the last day's visits
wait in the charge review queue, two of them flagged (a heading diagnosis code, a missing modifier 25)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from .choices import PlaceOfService
from .demo_codes import DEFAULT_SCHEDULE, EFFECTIVE_FROM, seed_codes
from .models import Encounter, EncounterDiagnosis, FeeSchedule, SuperbillTemplate
from .services.charges import (
    ServiceInput,
    encounter_code,
    encounter_from_appointment,
    encounter_submit,
    encounters_post,
)
from .services.codes import fee_schedule_import
from .services.superbills import SuperbillSection, superbill_save
from .services.supplies import SupplyInput

WEEKS_BACK = 3
REVIEW_MAX = 8

# Chiropractic and massage codes the practice added to its list for its chiropractor's room.
CHIRO_PRICES = [
    ("98940", "Spinal manipulation, 1-2 regions", "55.00"),
    ("98941", "Spinal manipulation, 3-4 regions", "70.00"),
    ("97140", "Manual therapy, 15 min", "45.00"),
    ("97124", "Massage, 15 min", "40.00"),
    ("97012", "Mechanical traction", "30.00"),
]

FAMILY_SECTIONS = [
    ("New patient visits", ["99202", "99203", "99204", "99205"]),
    ("Follow-up visits", ["99212", "99213", "99214", "99215", "99213 25", "99214 25"]),
    ("Annual physicals", ["99385", "99386", "99387", "99395", "99396", "99397", "G0439"]),
    ("In-office tests", ["36415", "81002", "82962", "87880", "93000"]),
    ("Shots and injections", ["90471", "90686", "96372", "J1100", "J3301"]),
]
FAMILY_DIAGNOSES = ["I10", "E11.9", "E78.5", "J06.9", "J02.9", "R05.9", "M54.50", "Z00.00", "Z00.01", "Z23", "N39.0",
                    "F41.1", "K21.9", "E66.9"]
CHIRO_SECTIONS = [
    ("Evaluation", ["99203", "99213", "99213 25"]),
    ("Manipulation", ["98940", "98941"]),
    ("Therapy and massage", ["97140", "97124", "97110", "97012"]),
]
CHIRO_DIAGNOSES = ["M54.50", "M54.2", "M54.6", "M99.01", "M99.03", "S13.4XXA", "S33.5XXA", "M62.830"]

CHRONIC = ["I10", "E11.9", "E78.5", "K21.9", "F41.1"]
ACUTE = ["J06.9", "J02.9", "R05.9", "N39.0"]


def _write(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def _chiro_prices(org, actor) -> None:
    schedule = FeeSchedule.objects.get(organization=org, name=DEFAULT_SCHEDULE)
    lines = ["code_system,code,modifiers,description,price,effective_from,effective_to"]
    lines += [f'CPT,{code},"","{description}",{price},{EFFECTIVE_FROM.isoformat()},' for code, description, price in CHIRO_PRICES]
    text = "\n".join(lines) + "\n"
    check = fee_schedule_import(schedule=schedule, file=text, actor=actor, dry_run=True)
    if check.errors:
        raise RuntimeError("; ".join(r.message for r in check.errors))
    if check.counts["new"] or check.counts["updated"]:
        fee_schedule_import(schedule=schedule, file=text, actor=actor, dry_run=False)


def _sections(spec) -> list[SuperbillSection]:
    out = []
    for title, codes in spec:
        services = []
        for entry in codes:
            code, _, mods = entry.partition(" ")
            services.append({"code": code, "modifiers": mods, "label": ""})
        out.append(SuperbillSection(title=title, services=services))
    return out


def _superbills(org, actor) -> int:
    made = 0
    for name, specialty, sections, diagnoses in (
        ("Family medicine", "Family medicine", FAMILY_SECTIONS, FAMILY_DIAGNOSES),
        ("Chiropractic and massage", "Chiropractic", CHIRO_SECTIONS, CHIRO_DIAGNOSES),
    ):
        if SuperbillTemplate.objects.filter(organization=org, name=name).exists():
            continue
        superbill_save(organization=org, actor=actor, name=name, specialty=specialty, sections=_sections(sections),
                       diagnoses=[{"code": c, "label": ""} for c in diagnoses])
        made += 1
    return made


def _age(patient, on: date) -> int:
    born = patient.date_of_birth
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day)) if born else 40


def _coding(rng: random.Random, kind: str, age: int) -> tuple[list[str], list[ServiceInput], str] | None:
    """Diagnoses, services and place of service for a visit of this type; None for what is not billed here."""
    office = PlaceOfService.OFFICE
    if kind == "follow-up":
        dx = rng.sample(CHRONIC, rng.choice((1, 2)))
        services = [ServiceInput(code=rng.choice(("99213", "99213", "99214")), pointers=",".join(str(i + 1) for i in range(len(dx))))]
        if "E11.9" in dx and rng.random() < 0.5:
            services.append(ServiceInput(code="82962", pointers=str(dx.index("E11.9") + 1)))
        elif rng.random() < 0.3:
            services.append(ServiceInput(code="36415", pointers="1"))
        return dx, services, office
    if kind == "sick":
        dx = [rng.choice(ACUTE)]
        services = [ServiceInput(code="99213")]
        if dx[0] == "J02.9":
            services.append(ServiceInput(code="87880"))
        if dx[0] == "N39.0":
            services.append(ServiceInput(code="81002"))
        return dx, services, office
    if kind in ("annual-physical", "new-physical"):
        new = kind == "new-physical"
        band = 0 if age < 40 else (1 if age < 65 else 2)
        code = (("99385", "99386", "99387") if new else ("99395", "99396", "99397"))[band]
        dx = ["Z00.00" if rng.random() < 0.7 else "Z00.01"]
        services = [ServiceInput(code=code)]
        if rng.random() < 0.4:
            services.append(ServiceInput(code="36415"))
        return dx, services, office
    if kind == "telehealth":
        dx = rng.sample(CHRONIC, 1)
        return dx, [ServiceInput(code=rng.choice(("99212", "99213")))], PlaceOfService.TELEHEALTH_HOME
    if kind == "flu-shot":
        return ["Z23"], [ServiceInput(code="90686"), ServiceInput(code="90471")], office
    return None


def seed_charges(ctx, *, patients: int = 0, seed: int = 0, stdout=None) -> int:
    """Encounters for the demo's completed visits of the past weeks. Idempotent: a visit that has its encounter is
    left alone. Returns the number of encounters made."""
    from clinicdesk.scheduling.models import Appointment

    seed_codes(ctx, stdout=stdout)
    org = ctx.organization
    users = getattr(ctx, "users", {}) or {}
    biller = users.get("devon") or users.get("sam")
    with transaction.atomic():
        _chiro_prices(org, biller)
        superbills = _superbills(org, biller)
    since = timezone.now() - timedelta(weeks=WEEKS_BACK)
    visits = list(
        Appointment.objects.filter(organization=org, status="completed", starts_at__gte=since, encounter__isnull=True)
        .select_related("patient", "provider", "location", "appointment_type").order_by("starts_at", "id"))
    rng = random.Random(seed + 606)  # noqa: S311  (demo data, not secrets)
    coded: list[Encounter] = []
    doses = _flu_doses(org)
    with transaction.atomic():
        for appointment in visits:
            kind = appointment.appointment_type.code
            plan = _coding(rng, kind, _age(appointment.patient, timezone.localdate()))
            if plan is None:
                continue
            dx, services, place = plan
            encounter = encounter_from_appointment(appointment=appointment, actor=appointment.provider)
            supplies = None
            if kind == "flu-shot" and doses.get(appointment.location_id):
                supplies = [doses[appointment.location_id].pop()]
            encounter_code(encounter=encounter, diagnoses=dx, services=services, actor=appointment.provider,
                           place_of_service=place, supplies=supplies)
            encounter_submit(encounter=encounter, actor=appointment.provider)
            coded.append(encounter)
        if not coded:
            _write(stdout, f"Charges: nothing new to code ({superbills} superbills added)")
            return 0
        last_day = max(e.service_date for e in coded)
        waiting = [e for e in coded if e.service_date == last_day][-REVIEW_MAX:]
        waiting_ids = {e.pk for e in waiting}
        _flag(waiting)
        to_post = [e for e in coded if e.pk not in waiting_ids]
        # Charges posted by the biller on the day after each visit, as the office does.
        encounters_post(encounters=to_post, actor=biller)
    flagged = Encounter.objects.filter(pk__in=waiting_ids).exclude(review_flags=[]).count()
    _write(stdout, f"Charges: {len(coded)} encounters coded, {len(to_post)} posted, {len(waiting)} waiting for review "
                   f"({flagged} flagged); {superbills} superbills added")
    return len(coded)


def _flu_doses(org) -> dict[int, list[SupplyInput]]:
    """The flu clinic's doses, by location: one dose of the current (latest-expiring) flu vaccine lot for each shot,
    while that lot has more than two doses left in the location's fridge (the lot expiring soon is left for the
    supply alerts to announce)."""
    from clinicdesk.inventory.choices import ItemKind
    from clinicdesk.inventory.models import StockBalance

    doses: dict[int, list[SupplyInput]] = {}
    shelf = (StockBalance.objects.filter(organization=org, item__kind=ItemKind.VACCINE, item__cvx="150", on_hand__gt=2,
                                         lot__expires_on__gt=timezone.localdate() + timedelta(days=60))
             .select_related("stock_location").order_by("-lot__expires_on", "pk"))
    for balance in shelf:
        location = balance.stock_location.location_id
        if location not in doses:
            doses[location] = [SupplyInput(line=1, item_id=balance.item_id, lot_id=balance.lot_id)
                               for _ in range(int(balance.on_hand) - 2)]
    return doses


def _flag(waiting: list[Encounter]) -> None:
    """Two of the waiting visits carry what the review is for: M54.5, billable until the 2022 code set split it
    (an old superbill's code), and an office visit billed with an injection but no modifier 25."""
    if len(waiting) < 2:
        return
    header, modifier = waiting[0], waiting[1]
    encounter_code(encounter=header, diagnoses=["M54.50"], services=[ServiceInput(code="99213")],
                   actor=header.provider)
    EncounterDiagnosis.objects.filter(encounter=header, sequence=1).update(code="M54.5", description="Low back pain")
    encounter_code(encounter=modifier, diagnoses=["J06.9"],
                   services=[ServiceInput(code="99213"), ServiceInput(code="96372")], actor=modifier.provider)
    for encounter in (header, modifier):
        encounter_submit(encounter=encounter, actor=encounter.provider)
