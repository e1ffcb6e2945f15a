"""The audit trail: one function writes every audit row, chained by hash to the row before it."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model

from .choices import AuditChannel, AuditOutcome
from .models import AuditEvent

# PostgreSQL advisory lock key that serializes appends to the chain across processes.
_CHAIN_LOCK = 7_312_004


@dataclass
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""
    path: str = ""
    channel: str = AuditChannel.PAGE


request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("audit_request", default=None)


def _patient_of(target: Model | None, patient: Model | None) -> Model | None:
    if patient is not None:
        return patient
    if target is not None and target._meta.label == "patients.Patient":
        return target
    return getattr(target, "patient", None) if target is not None else None


def _actor_fields(actor) -> tuple[int | None, str, int | None]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "", None
    return actor.pk, actor.get_username(), actor.organization_id


def _build_event(
    *,
    action: str,
    actor=None,
    target: Model | None = None,
    patient: Model | None = None,
    organization_id: int | None = None,
    outcome: str = AuditOutcome.SUCCESS,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    channel: str | None = None,
    actor_label: str = "",
) -> AuditEvent:
    ctx = request_context.get() or RequestContext(channel=AuditChannel.SYSTEM)
    actor_id, label, actor_org = _actor_fields(actor)
    patient = _patient_of(target, patient)
    if organization_id is None:
        organization_id = getattr(target, "organization_id", None) or getattr(patient, "organization_id", None) or actor_org
    return AuditEvent(
        organization_id=organization_id,
        actor_id=actor_id,
        actor_label=(label or actor_label)[:150],
        action=action,
        outcome=outcome,
        channel=channel or ctx.channel,
        patient_id=patient.pk if patient is not None else None,
        patient_label=_patient_label(patient),
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        summary=summary[:300],
        changes=changes or {},
        ip_address=ctx.ip_address,
        user_agent=ctx.user_agent[:300],
        request_id=ctx.request_id,
        path=ctx.path[:300],
    )


def _append(events: list[AuditEvent]) -> list[AuditEvent]:
    """Chain the events after the current last row and insert them, holding the chain lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or AuditEvent.GENESIS
    for event in events:
        event.prev_hash = prev
        event.hash = prev = event.compute_hash()
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        # Rows get ids in list order, which is the order the chain is verified in.
        AuditEvent.objects.bulk_create(events, batch_size=500)
    return events


@transaction.atomic
def audit_event(**fields) -> AuditEvent:
    """Append one row to the audit chain. Patient reads, changes, denials and sign-ins all come through here.

    Takes the keyword arguments of `_build_event`: action, actor, target, patient, organization_id,
    outcome, summary, changes, channel, actor_label.
    """
    return _append([_build_event(**fields)])[0]


@transaction.atomic
def audit_events(*, targets, **fields) -> list[AuditEvent]:
    """One audit row per target in a single insert: a list, an export or a print run that shows many patients."""
    events = [_build_event(target=target, **fields) for target in targets]
    return _append(events) if events else []


def audit_denied(request, *, action: str = "access.denied") -> AuditEvent:
    """Record a refused request (permission, CSRF): who tried what, where."""
    user = getattr(request, "user", None)
    return audit_event(
        action=action,
        actor=user if user is not None and user.is_authenticated else None,
        outcome=AuditOutcome.DENIED,
        summary=f"{request.method} {request.path}"[:300],
    )


def _patient_label(patient) -> str:
    if patient is None:
        return ""
    mrn = getattr(patient, "mrn", "")
    return f"{patient} ({mrn})"[:200] if mrn else str(patient)[:200]


def audit_verify(*, batch: int = 5000) -> tuple[int, AuditEvent | None, str]:
    """Walk the chain in order. Returns (rows checked, first broken row or None, what is wrong)."""
    expected_prev = AuditEvent.GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            return checked, None, ""
        for row in rows:
            if row.prev_hash != expected_prev:
                return checked, row, "its link to the previous row is broken (a row was removed or reordered)"
            if row.compute_hash() != row.hash:
                return checked, row, "its content does not match its hash (the row was changed)"
            expected_prev = row.hash
            checked += 1
            last_id = row.id


def audit_chain_check() -> dict[str, Any]:
    """Verify the chain and write the outcome into the chain itself, so scheduled checks leave a trace.

    A broken chain is recorded as a failed `audit.chain_broken` event naming the first bad row;
    the new row still links to the last row, so the check never hides the damage it found.
    """
    checked, broken, reason = audit_verify()
    if broken is None:
        audit_event(
            action="audit.verified", channel=AuditChannel.SYSTEM, summary=f"Audit chain intact: {checked} row{'' if checked == 1 else 's'} checked"
        )
        return {"intact": True, "checked": checked, "broken_id": None, "reason": ""}
    audit_event(
        action="audit.chain_broken",
        outcome=AuditOutcome.FAILED,
        channel=AuditChannel.SYSTEM,
        summary=f"Audit chain broken at row {broken.id}: {reason}; {checked} rows before it are intact",
        changes={"broken_id": broken.id, "checked": checked},
    )
    return {"intact": False, "checked": checked, "broken_id": broken.id, "reason": reason}
