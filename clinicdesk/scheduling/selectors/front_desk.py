"""Reads of the front desk's queues: calls and callbacks, the waitlist and its offers, recalls.

Every selector is scoped to the actor's practice (and, for the waitlist, to the locations they work
at), so a view cannot forget to filter. Each list loads what it shows in a fixed number of queries.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm, roles_with
from clinicdesk.patients.models import Patient

from ..choices import CallDirection, CallOutcome, CallReason, OfferStatus, RecallStatus, WaitlistStatus
from ..models import AppointmentType, PhoneCall, Recall, RecallRule, WaitlistEntry, WaitlistOffer

OPEN_WAITLIST = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
OPEN_RECALLS = (RecallStatus.DUE, RecallStatus.CONTACTED)


def _check_choice(errors: dict, field: str, value: str, choices) -> None:
    if value and value not in choices.values:
        errors[field] = f"Unknown {field.replace('_', ' ')} '{value}'; use one of: {', '.join(choices.values)}."


# --- calls ---------------------------------------------------------------------------------------------


def call_scope(*, actor: User) -> QuerySet[PhoneCall]:
    """Every call of the actor's practice, or none without the calls permission."""
    if actor is None or not actor.has_perm_code(Perm.CALLS):
        return PhoneCall.objects.none()
    return PhoneCall.objects.filter(organization_id=actor.organization_id)


def phone_call_list(
    *, actor: User, direction: str = "", reason: str = "", outcome: str = "", date_from: date | None = None,
    date_to: date | None = None, callbacks_only: bool = False,
) -> QuerySet[PhoneCall]:
    """The call log, newest first, with the patient and staff names it shows."""
    errors: dict[str, str] = {}
    _check_choice(errors, "direction", direction, CallDirection)
    _check_choice(errors, "reason", reason, CallReason)
    _check_choice(errors, "outcome", outcome, CallOutcome)
    if date_from and date_to and date_to < date_from:
        errors["date_to"] = "The end date is before the start date."
    if errors:
        raise ValidationError(errors)
    qs = call_scope(actor=actor).select_related("patient", "assigned_to", "taken_by")
    if direction:
        qs = qs.filter(direction=direction)
    if reason:
        qs = qs.filter(reason=reason)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    if callbacks_only:
        qs = qs.filter(callback_needed=True)
    return qs.order_by("-created_at", "-id")


def callback_queue(*, actor: User, mine: bool = False) -> QuerySet[PhoneCall]:
    """Open callbacks, the most overdue first; `mine` keeps those assigned to the actor."""
    qs = (
        call_scope(actor=actor)
        .filter(callback_needed=True, callback_done_at__isnull=True)
        .select_related("patient", "assigned_to", "taken_by")
    )
    if mine:
        qs = qs.filter(assigned_to=actor)
    return qs.order_by("callback_due", "created_at", "id")


def callback_counts(*, actor: User, now=None) -> dict[str, int]:
    """How many open callbacks there are, are overdue, and are the actor's (for the queue's header)."""
    now = now or timezone.now()
    qs = call_scope(actor=actor).filter(callback_needed=True, callback_done_at__isnull=True)
    return {
        "open": qs.count(),
        "overdue": qs.filter(callback_due__lt=now).count(),
        "mine": qs.filter(assigned_to=actor).count(),
    }


def patient_calls(*, actor: User, patient: Patient) -> list[PhoneCall]:
    """A patient's calls, newest first. Reading them is a read of the patient's record, so it is audited."""
    if patient.organization_id != actor.organization_id:
        raise Http404("No such patient.")
    calls = list(call_scope(actor=actor).filter(patient=patient).select_related("assigned_to", "taken_by")
                 .order_by("-created_at", "-id")[:200])
    audit_event(action="patient.calls_viewed", actor=actor, target=patient, summary="Call log opened")
    return calls


def phone_call_get(*, actor: User, call_id: int) -> PhoneCall:
    call = call_scope(actor=actor).select_related("patient", "assigned_to").filter(pk=call_id).first()
    if call is None:
        raise Http404("No such call.")
    return call


def call_assignees(*, actor: User) -> QuerySet[User]:
    """Colleagues a callback can be handed to: active staff of the practice whose role handles calls."""
    return User.objects.filter(
        organization_id=actor.organization_id, is_active=True, role__in=roles_with(Perm.CALLS)
    ).order_by("last_name", "first_name", "username")


# --- waitlist ------------------------------------------------------------------------------------------------


def _location_filter(actor: User, field: str, *, allow_any: bool) -> Q:
    allowed = actor.allowed_location_ids()
    if allowed is None:
        return Q()
    q = Q(**{f"{field}__in": allowed})
    return q | Q(**{f"{field}__isnull": True}) if allow_any else q


def waitlist_scope(*, actor: User) -> QuerySet[WaitlistEntry]:
    if actor is None or not actor.has_perm_code(Perm.WAITLIST):
        return WaitlistEntry.objects.none()
    return WaitlistEntry.objects.filter(organization_id=actor.organization_id).filter(
        _location_filter(actor, "location_id", allow_any=True)
    )


def waitlist_list(*, actor: User, status: str = "open", appointment_type_id: int | None = None) -> QuerySet[WaitlistEntry]:
    """Entries in offer order (priority, then who waited longest), with their pending offers."""
    if status not in ("open", "", *WaitlistStatus.values):
        raise ValidationError({"status": f"Unknown status '{status}'; use open or one of: {', '.join(WaitlistStatus.values)}."})
    qs = waitlist_scope(actor=actor)
    if status == "open":
        qs = qs.filter(status__in=OPEN_WAITLIST)
    elif status:
        qs = qs.filter(status=status)
    if appointment_type_id:
        qs = qs.filter(appointment_type_id=appointment_type_id)
    pending = WaitlistOffer.objects.filter(status=OfferStatus.PENDING).select_related("provider", "location").order_by("starts_at")
    return (
        qs.select_related("patient", "appointment_type", "location", "current_appointment", "added_by")
        .prefetch_related("providers", Prefetch("offers", queryset=pending, to_attr="pending_offers"))
        .order_by("-priority", "created_at", "id")
    )


def waitlist_entry_get(*, actor: User, entry_id: int) -> WaitlistEntry:
    entry = waitlist_scope(actor=actor).select_related("patient", "appointment_type").filter(pk=entry_id).first()
    if entry is None:
        raise Http404("No such waitlist entry.")
    return entry


def offer_scope(*, actor: User) -> QuerySet[WaitlistOffer]:
    if actor is None or not actor.has_perm_code(Perm.WAITLIST):
        return WaitlistOffer.objects.none()
    return WaitlistOffer.objects.filter(entry__organization_id=actor.organization_id).filter(
        _location_filter(actor, "location_id", allow_any=False)
    )


def offer_list(*, actor: User, now=None) -> QuerySet[WaitlistOffer]:
    """Pending offers still open, soonest time first, then by rank: what staff can book with one click."""
    now = now or timezone.now()
    return (
        offer_scope(actor=actor)
        .filter(status=OfferStatus.PENDING, expires_at__gt=now, starts_at__gt=now)
        .select_related("entry", "entry__patient", "entry__appointment_type", "provider", "location")
        .order_by("starts_at", "provider_id", "rank", "id")
    )


def waitlist_offer_get(*, actor: User, offer_id: int) -> WaitlistOffer:
    offer = (
        offer_scope(actor=actor)
        .select_related("entry", "entry__patient", "entry__appointment_type", "entry__current_appointment",
                        "provider", "location")
        .filter(pk=offer_id)
        .first()
    )
    if offer is None:
        raise Http404("No such offer.")
    return offer


def offer_by_token(*, token: str) -> WaitlistOffer | None:
    """The offer behind a patient's reply link (for the public page: it shows no patient data)."""
    token = (token or "").strip()
    if not token or len(token) > 64:
        return None
    return WaitlistOffer.objects.select_related("location", "location__organization").filter(token=token).first()


def waitlist_form_choices(*, actor: User) -> dict[str, QuerySet]:
    """What the waitlist form offers: the practice's active types, providers and locations."""
    from clinicdesk.core.choices import Role
    from clinicdesk.core.models import Location

    return {
        "appointment_types": AppointmentType.objects.filter(organization_id=actor.organization_id, is_active=True).order_by("name"),
        "providers": User.objects.filter(organization_id=actor.organization_id, is_active=True, role=Role.CLINICIAN)
        .order_by("last_name", "first_name"),
        "locations": Location.objects.filter(organization_id=actor.organization_id, is_active=True)
        .filter(_location_filter(actor, "id", allow_any=False)).order_by("name"),
    }


# --- recalls --------------------------------------------------------------------------------------------------


def recall_rule_list(*, actor: User) -> QuerySet[RecallRule]:
    if actor is None or not actor.has_perm_code(Perm.RECALLS):
        return RecallRule.objects.none()
    return RecallRule.objects.filter(organization_id=actor.organization_id).select_related("after_type", "recall_type").order_by("name")


def recall_rule_get(*, actor: User, rule_id: int) -> RecallRule:
    rule = recall_rule_list(actor=actor).filter(pk=rule_id).first()
    if rule is None:
        raise Http404("No such recall rule.")
    return rule


def recall_scope(*, actor: User) -> QuerySet[Recall]:
    if actor is None or not actor.has_perm_code(Perm.RECALLS):
        return Recall.objects.none()
    return Recall.objects.filter(organization_id=actor.organization_id)


RECALL_WHEN = {"": "Due now or within 30 days", "overdue": "Overdue", "due": "Due (today or earlier)", "upcoming": "Due in the next 30 days"}


def recall_list(
    *, actor: User, status: str = "open", rule_id: int | None = None, when: str = "", today: date | None = None,
) -> QuerySet[Recall]:
    """Recalls, the longest overdue first. `when`: '' all listed, 'overdue' (past due), 'due' (due by
    today), 'upcoming' (due within 30 days)."""
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    if status not in ("open", "", *RecallStatus.values):
        errors["status"] = f"Unknown status '{status}'; use open or one of: {', '.join(RecallStatus.values)}."
    if when not in RECALL_WHEN:
        errors["when"] = f"Unknown period '{when}'; use one of: overdue, due, upcoming."
    if errors:
        raise ValidationError(errors)
    qs = recall_scope(actor=actor).filter(patient__merged_into__isnull=True)
    if status == "open":
        qs = qs.filter(status__in=OPEN_RECALLS)
    elif status:
        qs = qs.filter(status=status)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    if when == "overdue":
        qs = qs.filter(due_date__lt=today)
    elif when == "due":
        qs = qs.filter(due_date__lte=today)
    elif when == "upcoming":
        qs = qs.filter(due_date__gt=today, due_date__lte=today + timedelta(days=30))
    return qs.select_related("patient", "rule", "rule__recall_type", "booked_appointment").order_by("due_date", "id")


def recall_get(*, actor: User, recall_id: int) -> Recall:
    recall = recall_scope(actor=actor).select_related("patient", "rule").filter(pk=recall_id).first()
    if recall is None:
        raise Http404("No such recall.")
    return recall
