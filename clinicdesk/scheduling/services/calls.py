"""The phone call log and its callback queue: every write to a PhoneCall.

Changes are recorded by django-auditlog (PhoneCall is registered in SchedulingConfig.ready) and so
enter the audit chain with the acting staff member, whatever the caller (page, API, task).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.models import Patient
from clinicdesk.patients.services.records import acting_as, normalize_phone

from ..choices import CallDirection, CallOutcome, CallReason
from ..models import PhoneCall

# A callback due a little in the past is still what the person meant ("call back now"); anything
# older is a typo in the date.
CALLBACK_PAST_GRACE_MINUTES = 5


def _check_patient(patient: Patient | None, actor: User) -> dict[str, str]:
    if patient is None:
        return {}
    if patient.organization_id != actor.organization_id or patient.merged_into_id:
        return {"patient": "No such patient."}
    return {}


def _check_assignee(assigned_to: User | None, actor: User) -> dict[str, str]:
    if assigned_to is None:
        return {}
    if assigned_to.organization_id != actor.organization_id or not assigned_to.has_perm_code(Perm.CALLS):
        return {"assigned_to": "Choose a colleague of this practice who handles calls."}
    return {}


def _check_callback(callback_needed: bool, callback_due: datetime | None, *, now: datetime) -> dict[str, str]:
    if callback_needed and callback_due is None:
        return {"callback_due": "Say by when the callback is due."}
    if not callback_needed and callback_due is not None:
        return {"callback_due": "A due time needs 'callback needed' ticked; tick it or clear the time."}
    if callback_due is not None and timezone.is_naive(callback_due):
        return {"callback_due": "The due time needs a time zone."}
    if callback_due is not None and (now - callback_due).total_seconds() > CALLBACK_PAST_GRACE_MINUTES * 60:
        return {"callback_due": "The callback is due in the past; check the date."}
    return {}


@transaction.atomic
def phone_call_log(
    *,
    actor: User,
    patient: Patient | None = None,
    direction: str = CallDirection.INBOUND,
    reason: str = CallReason.OTHER,
    outcome: str = CallOutcome.RESOLVED,
    notes: str = "",
    caller_name: str = "",
    phone: str = "",
    callback_needed: bool = False,
    callback_due: datetime | None = None,
    assigned_to: User | None = None,
) -> PhoneCall:
    """Record a call to or from the office; a call that needs a callback joins the callback queue."""
    now = timezone.now()
    errors: dict[str, str] = {}
    errors |= _check_patient(patient, actor)
    errors |= _check_assignee(assigned_to, actor)
    errors |= _check_callback(callback_needed, callback_due, now=now)
    caller_name, notes = (caller_name or "").strip(), (notes or "").strip()
    try:
        phone = normalize_phone(phone, field="phone")
    except ValidationError as exc:
        errors |= {k: v[0] for k, v in exc.message_dict.items()}
    if patient is None and not caller_name and not phone and "patient" not in errors:
        errors["patient"] = "Choose the patient, or give the caller's name or number."
    if callback_needed and patient is None and not phone and "phone" not in errors:
        errors["phone"] = "A callback needs a number to call: choose the patient or give the number."
    call = PhoneCall(
        organization_id=actor.organization_id,
        patient=patient if "patient" not in errors else None,
        direction=direction,
        caller_name=caller_name,
        phone=phone if "phone" not in errors else "",
        reason=reason,
        outcome=outcome,
        notes=notes,
        callback_needed=callback_needed,
        callback_due=callback_due if callback_needed else None,
        assigned_to=assigned_to if "assigned_to" not in errors else None,
        taken_by=actor,
    )
    full_clean_or_raise(call, errors, exclude=["organization", "taken_by"])
    with acting_as(actor):
        call.save(force_insert=True)
    return call


@transaction.atomic
def phone_call_callback_done(*, actor: User, call: PhoneCall, outcome: str = "", notes: str = "") -> PhoneCall:
    """Close a callback: it leaves the queue; the outcome and a note may be added."""
    if call.organization_id != actor.organization_id:
        raise ValidationError({"call": "No such call."})
    call = PhoneCall.objects.select_for_update().get(pk=call.pk)
    if not call.callback_needed:
        raise ValidationError({"callback_needed": "This call does not need a callback."})
    if call.callback_done_at is not None:
        raise ValidationError({"callback_done_at": "This callback is already done."})
    fields = ["callback_done_at", "updated_at"]
    call.callback_done_at = timezone.now()
    if outcome:
        call.outcome = outcome
        fields.append("outcome")
    notes = (notes or "").strip()
    if notes:
        stamp = timezone.localtime(call.callback_done_at).strftime("%Y-%m-%d %H:%M")
        call.notes = f"{call.notes}\n[{stamp}, callback] {notes}".strip()
        fields.append("notes")
    full_clean_or_raise(call, exclude=["organization", "taken_by"])
    with acting_as(actor):
        call.save(update_fields=fields)
    return call


@transaction.atomic
def phone_call_assign(*, actor: User, call: PhoneCall, assigned_to: User | None) -> PhoneCall:
    """Hand an open callback to a colleague (or take it oneself); None puts it back in the shared queue."""
    if call.organization_id != actor.organization_id:
        raise ValidationError({"call": "No such call."})
    errors = _check_assignee(assigned_to, actor)
    if errors:
        raise ValidationError(errors)
    call = PhoneCall.objects.select_for_update().get(pk=call.pk)
    if not call.callback_needed or call.callback_done_at is not None:
        raise ValidationError({"assigned_to": "Only an open callback can be handed on."})
    call.assigned_to = assigned_to
    with acting_as(actor):
        call.save(update_fields=["assigned_to", "updated_at"])
    return call
