"""Recalls: rules such as 'annual physical 12 months after the last physical', the patients they make
due, and what the front desk does about each (contacted, dismissed; booked when a visit is booked).

`recalls_refresh` runs daily (tasks.recalls_refresh_daily) and may run any time: it only ever adds
the recalls that are missing.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Organization, User
from clinicdesk.core.prepared import PreparedQuery
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.services.records import acting_as

from ..choices import LIVE_STATUSES, AppointmentStatus, RecallStatus
from ..models import Appointment, AppointmentType, Recall, RecallRule

# Recalls appear on the list this long before they are due, so the office can call ahead.
RECALL_LOOKAHEAD_DAYS = 30
INTERVAL_MAX_MONTHS = 120
OPEN_RECALL_STATUSES = (RecallStatus.DUE, RecallStatus.CONTACTED)
# Asked after every booking (see core/prepared.py).
_ANY_OPEN_RECALL = PreparedQuery(
    lambda patient_id, appointment_type_id: Recall.objects.filter(
        patient_id=patient_id, status__in=OPEN_RECALL_STATUSES, rule__recall_type_id=appointment_type_id
    ).order_by().values_list("id", flat=True)[:1]
)
RULE_FIELDS = ("name", "after_type", "interval_months", "recall_type", "is_active")


# --- rules -------------------------------------------------------------------------------------------


def _rule_errors(*, actor: User, values: dict, rule: RecallRule | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = values.get("name", "")
    if not name:
        errors["name"] = "Give the rule a name, e.g. 'Annual physical'."
    elif RecallRule.objects.filter(organization_id=actor.organization_id, name__iexact=name).exclude(
        pk=getattr(rule, "pk", None)
    ).exists():
        errors["name"] = "Another recall rule has this name."
    for field in ("after_type", "recall_type"):
        kind = values.get(field)
        if not isinstance(kind, AppointmentType) or kind.organization_id != actor.organization_id:
            errors[field] = "Choose an appointment type of this practice."
    months = values.get("interval_months")
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= INTERVAL_MAX_MONTHS:
        errors["interval_months"] = f"The interval is a whole number of months from 1 to {INTERVAL_MAX_MONTHS}."
    return errors


@transaction.atomic
def recall_rule_create(
    *, actor: User, name: str, after_type: AppointmentType, interval_months: int, recall_type: AppointmentType,
    is_active: bool = True,
) -> RecallRule:
    """Add a recall rule; the next refresh makes its patients due."""
    values = {"name": (name or "").strip(), "after_type": after_type, "interval_months": interval_months,
              "recall_type": recall_type, "is_active": is_active}
    errors = _rule_errors(actor=actor, values=values, rule=None)
    rule = RecallRule(organization_id=actor.organization_id, **{k: v for k, v in values.items() if k not in errors})
    full_clean_or_raise(rule, errors, exclude=["organization"])
    rule.save(force_insert=True)
    audit_event(action="recall_rule.created", actor=actor, target=rule, summary=f"Recall rule '{rule.name}' created")
    return rule


@transaction.atomic
def recall_rule_update(*, actor: User, rule: RecallRule, **changes) -> RecallRule:
    """Change a rule. Recalls already on the list keep their dates; new ones follow the new rule."""
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise ValidationError({name: f"'{name}' is not a field that can be set here." for name in unknown})
    if rule.organization_id != actor.organization_id:
        raise ValidationError({"rule": "No such recall rule."})
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    values = {field: getattr(rule, field) for field in RULE_FIELDS} | changes
    errors = _rule_errors(actor=actor, values=values, rule=rule)
    before = {field: str(getattr(rule, field)) for field in changes}
    for field, value in changes.items():
        if field not in errors:
            setattr(rule, field, value)
    full_clean_or_raise(rule, errors, exclude=["organization"])
    rule.save(update_fields=[*changes, "updated_at"])
    after = {field: str(getattr(rule, field)) for field in changes}
    audit_event(
        action="recall_rule.updated", actor=actor, target=rule, summary=f"Recall rule '{rule.name}' changed",
        changes={k: [before[k], after[k]] for k in changes if before[k] != after[k]},
    )
    return rule


# --- computing who is due ------------------------------------------------------------------------------


def recall_due_date(last_visit: date, interval_months: int) -> date:
    """Months are calendar months; the 31st of a short month becomes its last day (Jan 31 + 1 → Feb 28/29)."""
    return last_visit + relativedelta(months=interval_months)


def _local_date(moment: datetime, tz_name: str) -> date:
    return moment.astimezone(zoneinfo.ZoneInfo(tz_name)).date()


@transaction.atomic
def recalls_refresh(*, organization: Organization, today: date | None = None) -> int:
    """Add a recall for every patient whose last completed visit of a rule's type makes them due (or due
    within RECALL_LOOKAHEAD_DAYS) and who has no visit of the recall type booked or held since.

    Idempotent: one recall per patient, rule and due date. Returns how many were added.
    """
    today = today or timezone.localdate()
    horizon = today + timedelta(days=RECALL_LOOKAHEAD_DAYS)
    created: list[Recall] = []
    for rule in RecallRule.objects.filter(organization=organization, is_active=True).order_by("pk"):
        created += _refresh_rule(rule=rule, horizon=horizon)
    if created:
        Recall.objects.bulk_create(created, ignore_conflicts=True)
    audit_event(
        action="recalls.refreshed", organization_id=organization.pk, channel=AuditChannel.SYSTEM,
        summary=f"{len(created)} recall{'' if len(created) == 1 else 's'} added",
    )
    return len(created)


def _refresh_rule(*, rule: RecallRule, horizon: date) -> list[Recall]:
    # The last completed visit of the rule's type per patient (a patient's rows come newest first).
    last_visit: dict[int, tuple[datetime, date]] = {}
    rows = (
        Appointment.objects.filter(
            organization_id=rule.organization_id, appointment_type_id=rule.after_type_id,
            status=AppointmentStatus.COMPLETED, patient__status=PatientStatus.ACTIVE, patient__merged_into__isnull=True,
        )
        .order_by("patient_id", "-starts_at")
        .values_list("patient_id", "starts_at", "location__time_zone")
    )
    for patient_id, starts_at, tz_name in rows.iterator(chunk_size=5000):
        if patient_id not in last_visit:
            last_visit[patient_id] = (starts_at, _local_date(starts_at, tz_name))
    open_recalls = list(
        Recall.objects.filter(rule=rule, status__in=OPEN_RECALL_STATUSES).values_list("pk", "patient_id", "last_visit")
    )
    # An open recall from an earlier visit is superseded: the patient has been seen again since.
    superseded = {pk for pk, patient_id, visit in open_recalls if patient_id in last_visit and visit < last_visit[patient_id][1]}
    ordered = sorted(superseded)
    for i in range(0, len(ordered), 500):
        Recall.objects.filter(pk__in=ordered[i:i + 500]).update(status=RecallStatus.DISMISSED, updated_at=timezone.now())
    open_patients = {patient_id for pk, patient_id, _ in open_recalls if pk not in superseded}
    due = {}
    for patient_id, (at, visit) in last_visit.items():
        due_date = recall_due_date(visit, rule.interval_months)
        if due_date <= horizon and patient_id not in open_patients:
            due[patient_id] = (at, visit, due_date)
    if not due:
        return []
    existing = set(Recall.objects.filter(rule=rule, due_date__lte=horizon).values_list("patient_id", "due_date"))
    # A visit of the recall type held or booked after the last visit means the patient is back already.
    earliest = min(at for at, _, _ in due.values())
    latest_recall_visit = dict(
        Appointment.objects.filter(
            organization_id=rule.organization_id, appointment_type_id=rule.recall_type_id,
            status__in=LIVE_STATUSES, starts_at__gt=earliest,
        )
        .values("patient_id")
        .annotate(latest=Max("starts_at"))
        .values_list("patient_id", "latest")
    )
    added = []
    for patient_id, (at, visit, due_date) in due.items():
        if (patient_id, due_date) in existing:
            continue
        if latest_recall_visit.get(patient_id) is not None and latest_recall_visit[patient_id] > at:
            continue
        added.append(Recall(organization_id=rule.organization_id, patient_id=patient_id, rule=rule,
                            last_visit=visit, due_date=due_date, status=RecallStatus.DUE))
    return added


# --- working the list ------------------------------------------------------------------------------------


def _locked(recall: Recall, actor: User) -> Recall:
    if recall.organization_id != actor.organization_id:
        raise ValidationError({"recall": "No such recall."})
    return Recall.objects.select_for_update().get(pk=recall.pk)


def _append_note(recall: Recall, notes: str) -> bool:
    notes = (notes or "").strip()
    if not notes:
        return False
    recall.notes = f"{recall.notes} · {notes}".strip(" ·")[-300:]
    return True


@transaction.atomic
def recall_mark_contacted(*, actor: User, recall: Recall, notes: str = "") -> Recall:
    """The office reached (or tried to reach) the patient about the recall."""
    recall = _locked(recall, actor)
    if recall.status not in OPEN_RECALL_STATUSES:
        raise ValidationError({"status": f"This recall is already {recall.get_status_display().lower()}."})
    recall.status = RecallStatus.CONTACTED
    recall.contacted_at = timezone.now()
    fields = ["status", "contacted_at", "updated_at"] + (["notes"] if _append_note(recall, notes) else [])
    with acting_as(actor):
        recall.save(update_fields=fields)
    return recall


@transaction.atomic
def recall_dismiss(*, actor: User, recall: Recall, notes: str = "") -> Recall:
    """Take a recall off the list (moved away, sees another practice, declined)."""
    recall = _locked(recall, actor)
    if recall.status not in OPEN_RECALL_STATUSES:
        raise ValidationError({"status": f"This recall is already {recall.get_status_display().lower()}."})
    recall.status = RecallStatus.DISMISSED
    fields = ["status", "updated_at"] + (["notes"] if _append_note(recall, notes) else [])
    with acting_as(actor):
        recall.save(update_fields=fields)
    return recall


def recalls_mark_booked(*, appointment: Appointment) -> int:
    """A visit of a recall type was booked for the patient: their open recalls for it are booked."""
    if getattr(appointment.appointment_type, "has_recall_rules", True) is False:
        return 0  # the type was loaded with_booking_hints() and no recall rule books it
    open_recalls = Recall.objects.filter(patient_id=appointment.patient_id, status__in=OPEN_RECALL_STATUSES,
                                         rule__recall_type_id=appointment.appointment_type_id)
    # Most bookings are not recall visits: one plain read, and a locking transaction only when there is work.
    if not _ANY_OPEN_RECALL(patient_id=appointment.patient_id, appointment_type_id=appointment.appointment_type_id):
        return 0
    with transaction.atomic():
        recalls = list(open_recalls.select_for_update())
        for recall in recalls:
            recall.status = RecallStatus.BOOKED
            recall.booked_appointment = appointment
            with acting_as(appointment.booked_by):
                recall.save(update_fields=["status", "booked_appointment", "updated_at"])
    return len(recalls)
