"""The demo practice's front-desk queues: a morning's calls with callbacks due (one overdue), five patients
on the waitlist (one wanting to move an appointment earlier), and two recall rules with patients due.

Called once from scheduling.demo.seed after the appointments exist. Deterministic for a seed and a day,
idempotent (each part is skipped when it is already there). Scenario 5 starts from here: cancel an
afternoon visit at Main Street and the waiting follow-up patients are offered the time at once.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from clinicdesk.patients.models import PUBLIC_ID_ALPHABET, Patient

from .choices import AppointmentStatus, BookingChannel, CallDirection, CallOutcome, CallReason, TimeOfDay
from .models import Appointment, AppointmentType, PhoneCall, RecallRule, WaitlistEntry
from .selectors.availability import location_tz
from .services.recalls import recalls_refresh
from .services.waitlist import waitlist_entry_add

HISTORY_NOTE = "Demo history"
# (rule name, after type code, months, recall type code, how many patients to give a visit that makes them due)
RULES = [("Annual physical", "annual-physical", 12, "annual-physical", 9), ("Yearly flu shot", "flu-shot", 12, "flu-shot", 6)]


def seed_front_desk(ctx, *, seed: int) -> int:
    """Add calls, waitlist entries and recalls to the demo practice; returns the number of rows added."""
    org = ctx.organization
    rng = random.Random(f"front-desk:{seed}")  # noqa: S311  (demo data, not security)
    patients = list(
        Patient.objects.filter(organization=org, merged_into__isnull=True, status="active").order_by("pk")[:400]
    )
    kinds = {k.code: k for k in AppointmentType.objects.filter(organization=org)}
    if len(patients) < 30 or "follow-up" not in kinds:
        return 0
    added = 0
    with transaction.atomic():
        added += _calls(ctx, rng, patients)
    with transaction.atomic():
        added += _waitlist(ctx, rng, patients, kinds)
    with transaction.atomic():
        added += _recalls(ctx, rng, patients, kinds)
    return added


def _calls(ctx, rng: random.Random, patients: list[Patient]) -> int:
    org = ctx.organization
    if PhoneCall.objects.filter(organization=org).exists():
        return 0
    maria, jamal, devon = ctx.users["maria"], ctx.users["jamal"], ctx.users["devon"]
    now = timezone.now()
    known = {f"{p.first_name} {p.last_name}": p for p in patients}
    ana = known.get("Ana Álvarez") or patients[0]
    jose = known.get("José Núñez") or patients[1]
    peggy = known.get("Margaret O'Brien") or patients[2]
    others = rng.sample(patients[7:], 5)
    # (minutes ago, patient, caller, direction, reason, outcome, notes, callback due in minutes, assigned, taken by)
    calls = [
        (190, peggy, "", CallDirection.INBOUND, CallReason.RESULTS, CallOutcome.MESSAGE_TAKEN,
         "Asks whether her blood test results are in. Prefers a call after 11.", -30, jamal, maria),
        (75, ana, "", CallDirection.INBOUND, CallReason.RESCHEDULE, CallOutcome.MESSAGE_TAKEN,
         "Wants to move Thursday's visit; call back with two options.", 60, maria, maria),
        (40, jose, "Carmen Núñez (daughter)", CallDirection.INBOUND, CallReason.PRESCRIPTION, CallOutcome.MESSAGE_TAKEN,
         "Refill of metformin; pharmacy on Main Street.", 150, None, maria),
        (25, others[0], "", CallDirection.INBOUND, CallReason.BILLING, CallOutcome.TRANSFERRED,
         "Question about a statement; transferred to billing.", 24 * 60, devon, maria),
        (300, others[1], "", CallDirection.INBOUND, CallReason.BOOK, CallOutcome.BOOKED, "Booked a follow-up.", None, None, maria),
        (260, others[2], "", CallDirection.OUTBOUND, CallReason.OTHER, CallOutcome.LEFT_VOICEMAIL,
         "Reminder about the flu clinic.", None, None, jamal),
        (150, others[3], "", CallDirection.INBOUND, CallReason.CANCEL, CallOutcome.RESOLVED, "Cancelled, will call to rebook.",
         None, None, maria),
        (20, None, "Northside Pharmacy", CallDirection.INBOUND, CallReason.PRESCRIPTION, CallOutcome.RESOLVED,
         "Confirmed a dosage with the nurse.", None, None, jamal),
    ]
    rows = []
    for _ago, patient, caller, direction, reason, outcome, notes, due_in, assigned, taken_by in calls:
        rows.append(PhoneCall(
            organization=org, patient=patient, caller_name=caller, direction=direction, reason=reason, outcome=outcome,
            notes=notes, phone=patient.phone_mobile if patient is not None else "+15555550142",
            callback_needed=due_in is not None,
            callback_due=now + timedelta(minutes=due_in) if due_in is not None else None,
            assigned_to=assigned, taken_by=taken_by,
        ))
    PhoneCall.objects.bulk_create(rows)
    for row, (ago, *_rest) in zip(rows, calls, strict=True):
        PhoneCall.objects.filter(pk=row.pk).update(created_at=now - timedelta(minutes=ago), updated_at=now - timedelta(minutes=ago))
    return len(rows)


def _waitlist(ctx, rng: random.Random, patients: list[Patient], kinds: dict[str, AppointmentType]) -> int:
    org = ctx.organization
    if WaitlistEntry.objects.filter(organization=org).exists():
        return 0
    maria = ctx.users["maria"]
    main = next(loc for loc in ctx.locations if loc.code == "main")
    today = timezone.localdate()
    # A patient booked two weeks or more out with Dr. Chen who would come sooner.
    later = (
        Appointment.objects.filter(organization=org, provider=ctx.users["drchen"], appointment_type=kinds["follow-up"],
                                   status=AppointmentStatus.SCHEDULED, starts_at__gte=timezone.now() + timedelta(days=14))
        .order_by("starts_at").first()
    )
    free = [p for p in patients[7:] if later is None or p.pk != later.patient_id]
    rng.shuffle(free)
    entries = [
        {"patient": free[0], "appointment_type": kinds["follow-up"], "location": main, "time_of_day": TimeOfDay.AFTERNOON,
         "priority": 5, "notes": "Post-op check; any provider, afternoons"},
        {"patient": free[1], "appointment_type": kinds["follow-up"], "providers": [ctx.users["drchen"]], "location": main,
         "notes": "Prefers Dr. Chen"},
        {"patient": free[2], "appointment_type": kinds["follow-up"], "weekdays": [0, 2, 4], "notes": "Mon/Wed/Fri only (works Tue/Thu)"},
        {"patient": free[3], "appointment_type": kinds.get("annual-physical", kinds["follow-up"]), "time_of_day": TimeOfDay.MORNING,
         "latest_date": today + timedelta(days=30), "notes": "Needs the physical for a new job by month end"},
        {"patient": later.patient, "appointment_type": kinds["follow-up"], "current_appointment": later,
         "providers": [ctx.users["drchen"]], "notes": "Would like to come sooner"} if later is not None else
        {"patient": free[4], "appointment_type": kinds["follow-up"], "location": main},
    ]
    for values in entries:
        waitlist_entry_add(actor=maria, **values)
    return len(entries)


def _recalls(ctx, rng: random.Random, patients: list[Patient], kinds: dict[str, AppointmentType]) -> int:
    org = ctx.organization
    added = 0
    provider = ctx.users["drokafor"]
    main = next(loc for loc in ctx.locations if loc.code == "main")
    tz = location_tz(main.time_zone)
    today = timezone.localdate()
    for name, after, months, recall, how_many in RULES:
        if after not in kinds or recall not in kinds:
            continue
        rule, created = RecallRule.objects.get_or_create(
            organization=org, name=name,
            defaults={"after_type": kinds[after], "recall_type": kinds[recall], "interval_months": months},
        )
        added += created
        if not created:
            continue
        # Visits of about a year ago (from six weeks overdue to three weeks ahead), at distinct times.
        history = []
        # Patients with no visit of either type on the books, so the history is what makes them due.
        seen = set(
            Appointment.objects.filter(organization=org, appointment_type__in=[kinds[after], kinds[recall]])
            .values_list("patient_id", flat=True)
        )
        candidates = [p for p in patients[7:] if p.pk not in seen]
        chosen = rng.sample(candidates, min(how_many, len(candidates)))
        for n, patient in enumerate(chosen):
            day = today - timedelta(days=months * 30 + 5 + 42 - n * 7)
            while day.weekday() >= 5:
                day -= timedelta(days=1)
            start = datetime.combine(day, time(8 + n % 8, 30 if after == "flu-shot" else 0), tzinfo=tz)
            kind = kinds[after]
            end = start + timedelta(minutes=kind.duration_minutes)
            history.append(Appointment(
                organization=org, public_id="".join(rng.choices(PUBLIC_ID_ALPHABET, k=14)), patient=patient,
                provider=provider, location=main, appointment_type=kind, starts_at=start, ends_at=end,
                busy_from=start - timedelta(minutes=kind.buffer_before_minutes),
                busy_until=end + timedelta(minutes=kind.buffer_after_minutes), exclusive=kind.capacity == 1,
                status=AppointmentStatus.COMPLETED, channel=BookingChannel.PHONE, notes=HISTORY_NOTE,
                arrived_at=start - timedelta(minutes=5), completed_at=end,
            ))
        Appointment.objects.bulk_create(history)
        added += len(history)
    added += recalls_refresh(organization=org)
    return added
