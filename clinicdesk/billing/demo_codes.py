"""The demo practice's procedure list and default fee schedule: common office codes with the practice's own
short descriptions (not the AMA's CPT wording, which is licensed) and self-pay prices."""

from __future__ import annotations

from datetime import date

from .choices import CodeSystem
from .models import FeeSchedule
from .services.codes import fee_schedule_create, fee_schedule_import

DEFAULT_SCHEDULE = "Standard (self-pay)"
EFFECTIVE_FROM = date(2026, 1, 1)

# (code system, code, modifiers, the practice's own description, price)
PROCEDURES = [
    (CodeSystem.CPT, "99202", "", "New patient visit, straightforward", "95.00"),
    (CodeSystem.CPT, "99203", "", "New patient visit, low complexity", "140.00"),
    (CodeSystem.CPT, "99204", "", "New patient visit, moderate complexity", "210.00"),
    (CodeSystem.CPT, "99205", "", "New patient visit, high complexity", "275.00"),
    (CodeSystem.CPT, "99211", "", "Nurse visit", "30.00"),
    (CodeSystem.CPT, "99212", "", "Follow-up visit, straightforward", "75.00"),
    (CodeSystem.CPT, "99213", "", "Follow-up visit, low complexity", "110.00"),
    (CodeSystem.CPT, "99213", "25", "Follow-up visit, low complexity", "110.00"),
    (CodeSystem.CPT, "99214", "", "Follow-up visit, moderate complexity", "165.00"),
    (CodeSystem.CPT, "99214", "25", "Follow-up visit, moderate complexity", "165.00"),
    (CodeSystem.CPT, "99215", "", "Follow-up visit, high complexity", "225.00"),
    (CodeSystem.CPT, "99385", "", "Annual physical, new patient 18-39", "210.00"),
    (CodeSystem.CPT, "99386", "", "Annual physical, new patient 40-64", "235.00"),
    (CodeSystem.CPT, "99387", "", "Annual physical, new patient 65+", "255.00"),
    (CodeSystem.CPT, "99395", "", "Annual physical, 18-39", "185.00"),
    (CodeSystem.CPT, "99396", "", "Annual physical, 40-64", "205.00"),
    (CodeSystem.CPT, "99397", "", "Annual physical, 65+", "225.00"),
    (CodeSystem.CPT, "36415", "", "Blood draw", "15.00"),
    (CodeSystem.CPT, "81002", "", "Urine dipstick in office", "12.00"),
    (CodeSystem.CPT, "90471", "", "Vaccine given, first", "28.00"),
    (CodeSystem.CPT, "90686", "", "Flu shot, preservative free", "42.00"),
    (CodeSystem.CPT, "93000", "", "ECG with reading", "65.00"),
    (CodeSystem.CPT, "93000", "26", "ECG with reading", "25.00"),
    (CodeSystem.CPT, "96372", "", "Injection into muscle or under skin", "35.00"),
    (CodeSystem.CPT, "97110", "", "Therapeutic exercise, 15 min", "55.00"),
    (CodeSystem.CPT, "87880", "", "Rapid strep test", "25.00"),
    (CodeSystem.CPT, "82962", "", "Fingerstick glucose", "10.00"),
    (CodeSystem.HCPCS, "G0008", "", "Flu shot given (Medicare)", "28.00"),
    (CodeSystem.HCPCS, "G0439", "", "Medicare annual wellness, follow-up", "130.00"),
    (CodeSystem.HCPCS, "J1100", "", "Dexamethasone injection, 1 mg", "6.50"),
    (CodeSystem.HCPCS, "J3301", "", "Triamcinolone injection, 10 mg", "9.00"),
    (CodeSystem.HCPCS, "A4550", "", "Surgical tray", "18.00"),
]


def _csv() -> str:
    lines = ["code_system,code,modifiers,description,price,effective_from,effective_to"]
    for system, code, mods, description, price in PROCEDURES:
        lines.append(f'{system},{code},"{mods}","{description}",{price},{EFFECTIVE_FROM.isoformat()},')
    return "\n".join(lines) + "\n"


def seed_codes(ctx, *, stdout=None) -> int:
    """The demo's procedures and default fee schedule, through the same import the practice uses.
    Idempotent: a second run finds every row unchanged. Returns the number of rows added or changed."""
    org = ctx.organization
    actor = ctx.users.get("sam") if getattr(ctx, "users", None) else None
    schedule = FeeSchedule.objects.filter(organization=org, name=DEFAULT_SCHEDULE).first()
    if schedule is None:
        schedule = fee_schedule_create(organization=org, name=DEFAULT_SCHEDULE, is_default=True, actor=actor,
                                       notes="Self-pay prices; payers' contracted rates live in their own schedules.")
    result = fee_schedule_import(schedule=schedule, file=_csv(), actor=actor, dry_run=True)
    counts = result.counts
    if not result.errors and (counts["new"] or counts["updated"]):
        result = fee_schedule_import(schedule=schedule, file=_csv(), actor=actor, dry_run=False)
    if result.errors:  # the list above is ours: an error here is a bug in it
        raise RuntimeError("; ".join(r.message for r in result.errors))
    if stdout is not None:
        stdout.write(f"Procedure codes and fees: {len(PROCEDURES)} prices on {schedule.name} "
                     f"({counts['new']} new, {counts['updated']} updated)")
    return counts["new"] + counts["updated"]
