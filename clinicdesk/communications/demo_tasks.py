"""The demo practice's staff task inbox and a few text replies: open tasks for people and roles (one overdue),
finished ones with notes, and patients' answers to reminders with what was done with them.

Deterministic for a seed and a day, idempotent (skipped when the demo tasks are already there). Runs after
the patients and the schedule exist.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.patients.models import Patient
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment

from .choices import InboundAction, MessageChannel, MessagePurpose, MessageState, StaffTaskKind, StaffTaskStatus
from .models import InboundMessage, Message, StaffTask, TaskNote

DEMO_MARK = "demo-tasks"
PRACTICE_NUMBER = "+15555550100"


def seed(ctx, *, patients: int, seed: int, stdout=None) -> int:
    """Add staff tasks and text replies to the demo practice; returns the number of rows added."""
    org = ctx.organization
    if StaffTask.objects.filter(organization=org, reference__startswith=DEMO_MARK).exists():
        return 0
    rng = random.Random(f"{DEMO_MARK}:{seed}")  # noqa: S311  (demo data, not security)
    people = list(Patient.objects.filter(organization=org, merged_into__isnull=True, status="active").order_by("pk")[:200])
    if len(people) < 12:
        return 0
    with transaction.atomic():
        added = _tasks(ctx, rng, people) + _replies(ctx)
    if stdout is not None:
        stdout.write(f"Staff tasks and text replies: {added} rows")
    return added


def _tasks(ctx, rng: random.Random, people: list[Patient]) -> int:
    org, today, now = ctx.organization, timezone.localdate(), timezone.now()
    maria, jamal, devon, priya = (ctx.users[u] for u in ("maria", "jamal", "devon", "priya"))
    drchen = ctx.users["drchen"]
    chosen = rng.sample(people, 8)
    # (title, kind, person, role, due in days, patient, status, note)
    plan = [
        ("Call about the blood test results", StaffTaskKind.CALL, None, Role.FRONT_DESK, -2, chosen[0], StaffTaskStatus.OPEN,
         "Tried at 9:10, no answer."),
        ("Patient asked to reschedule by text", StaffTaskKind.CALL, None, Role.FRONT_DESK, 0, chosen[1], StaffTaskStatus.OPEN, ""),
        ("Ask for the new insurance card", StaffTaskKind.FOLLOW_UP, maria, "", 1, chosen[2], StaffTaskStatus.OPEN, ""),
        ("Review the outside lab report", StaffTaskKind.REVIEW, drchen, "", 3, chosen[3], StaffTaskStatus.OPEN,
         "Scanned into Documents."),
        ("Prior authorization for the MRI", StaffTaskKind.FOLLOW_UP, devon, Role.BILLER, 5, chosen[4], StaffTaskStatus.OPEN, ""),
        ("Check the vaccine fridge log", StaffTaskKind.OTHER, jamal, Role.NURSE, 0, None, StaffTaskStatus.OPEN, ""),
        ("Send the school form", StaffTaskKind.FOLLOW_UP, maria, "", -1, chosen[5], StaffTaskStatus.DONE, "Mailed on Monday."),
        ("Call back about the statement", StaffTaskKind.CALL, devon, "", -3, chosen[6], StaffTaskStatus.DONE, "Explained the copay."),
        ("Order more flu shot forms", StaffTaskKind.OTHER, priya, "", None, None, StaffTaskStatus.CANCELLED, "Forms are online now."),
    ]
    added = 0
    for n, (title, kind, person, role, due_in, patient, status, note) in enumerate(plan):
        closed = status != StaffTaskStatus.OPEN
        task = StaffTask.objects.create(
            organization=org, title=title, kind=kind, assignee=person, assignee_role=role, status=status,
            due_on=today + timedelta(days=due_in) if due_in is not None else None, patient=patient,
            reference=f"{DEMO_MARK}-{n}", created_by=priya if n % 2 else maria,
            completed_by=(person or maria) if closed else None, completed_at=now - timedelta(hours=n) if closed else None,
        )
        added += 1
        if note:
            TaskNote.objects.create(task=task, author=person or maria, text=note)
            added += 1
    return added


def _replies(ctx) -> int:
    """Reminders for the next visits and the patients' answers, already acted on."""
    org, now = ctx.organization, timezone.now()
    visits = list(
        Appointment.objects.filter(organization=org, status__in=[AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED],
                                   starts_at__gt=now, patient__phone_mobile__gt="")
        .select_related("patient").order_by("starts_at")[:3]
    )
    answers = [("C", InboundAction.CONFIRMED, ""), ("Is there parking nearby?", InboundAction.NEEDS_STAFF,
                                                     "Waiting for the front desk to read it."),
               ("R", InboundAction.NEEDS_STAFF, "Asked to reschedule; a call task is with the front desk.")]
    added = 0
    for n, (visit, (body, action, note)) in enumerate(zip(visits, answers, strict=False)):
        reminder = Message.objects.create(
            organization=org, patient=visit.patient, location_id=visit.location_id, channel=MessageChannel.SMS,
            purpose=MessagePurpose.REMINDER, state=MessageState.DELIVERED, to_address=visit.patient.phone_mobile,
            body="Reminder of your visit. Reply C to confirm, N to cancel, R to reschedule.", appointment=visit,
            idempotency_key=f"{DEMO_MARK}:reminder:{visit.pk}", sent_at=now - timedelta(hours=20),
            delivered_at=now - timedelta(hours=20),
        )
        InboundMessage.objects.create(
            organization=org, patient=visit.patient, in_reply_to=reminder, from_number=visit.patient.phone_mobile,
            to_number=PRACTICE_NUMBER, body=body, provider="demo", provider_message_id=f"{DEMO_MARK}-{visit.pk}-{n}",
            action=action, note=note, received_at=now - timedelta(hours=19 - n),
        )
        added += 2
    return added
