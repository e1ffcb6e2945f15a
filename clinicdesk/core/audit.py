"""The audit trail: one function writes every audit row; a sealer chains the rows by hash moments later."""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Model, Q
from django.utils import timezone

from .choices import AuditChannel, AuditOutcome
from .models import AuditEvent, AuditSeal
from .pg_arrays import array_literal, int_array_literal

logger = logging.getLogger(__name__)


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


def _event_values(
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
) -> dict[str, Any]:
    """The columns of one audit row (all but its time and id)."""
    ctx = request_context.get() or RequestContext(channel=AuditChannel.SYSTEM)
    actor_id, label, actor_org = _actor_fields(actor)
    patient = _patient_of(target, patient)
    if organization_id is None:
        organization_id = getattr(target, "organization_id", None) or getattr(patient, "organization_id", None) or actor_org
    return {
        "organization_id": organization_id,
        "actor_id": actor_id,
        "actor_label": (label or actor_label)[:150],
        "action": action,
        "outcome": outcome,
        "channel": channel or ctx.channel,
        "patient_id": patient.pk if patient is not None else None,
        "patient_label": _patient_label(patient),
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(target.pk) if target is not None and target.pk is not None else "",
        "summary": summary[:300],
        "changes": changes or {},
        "ip_address": ctx.ip_address,
        "user_agent": ctx.user_agent[:300],
        "request_id": ctx.request_id,
        "path": ctx.path[:300],
    }


def _build_event(**fields) -> AuditEvent:
    return AuditEvent(**_event_values(**fields))


# The columns of a batch insert on PostgreSQL and their array types.
_COLUMN_TYPES = {
    "organization_id": "bigint", "actor_id": "bigint", "actor_label": "text", "action": "text", "outcome": "text",
    "channel": "text", "patient_id": "bigint", "patient_label": "text", "target_type": "text", "target_id": "text",
    "summary": "text", "changes": "jsonb", "ip_address": "inet", "user_agent": "text", "request_id": "text",
    "path": "text",
}


def _rows_insert(rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows' columns at once and return their ids, in order. On PostgreSQL each column goes as one array
    literal (no model instances: a batch of 500 of them costs more than the insert); elsewhere `bulk_create`."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        events = AuditEvent.objects.bulk_create([AuditEvent(created_at=now, **row) for row in rows], batch_size=500)
        return [e.pk for e in events]
    columns = list(_COLUMN_TYPES)
    params = [now]
    for column in columns:
        if column == "changes":
            params.append(array_literal([json.dumps(row["changes"]) for row in rows]))
        else:
            params.append(array_literal([row[column] for row in rows]))
    arrays = ", ".join(f"%s::{kind}[]" for kind in _COLUMN_TYPES.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO core_auditevent (created_at, {', '.join(columns)}) "  # noqa: S608 (names are constants)
            f"SELECT %s, {', '.join('u.' + c for c in columns)} FROM unnest({arrays}) WITH ORDINALITY "
            f"AS u({', '.join(columns)}, n) ORDER BY u.n "
            "RETURNING id",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _append(events: list[AuditEvent]) -> list[AuditEvent]:
    """Insert the events (one statement, no lock) and have them sealed into the chain once they commit."""
    if len(events) == 1:
        events[0].save(force_insert=True)
    else:
        with transaction.atomic(savepoint=False):
            AuditEvent.objects.bulk_create(events, batch_size=500)
    transaction.on_commit(_seal_soon)
    return events


def audit_event(**fields) -> AuditEvent:
    """Write one audit row. Patient reads, changes, denials and sign-ins all come through here.

    Takes the keyword arguments of `_build_event`: action, actor, target, patient, organization_id,
    outcome, summary, changes, channel, actor_label. The row joins the hash chain moments after it commits.
    """
    return _append([_build_event(**fields)])[0]


def audit_events(*, targets, **fields) -> list[AuditEvent]:
    """One audit row per target in a single insert: a list, an export or a print run that shows many patients."""
    events = [_build_event(target=target, **fields) for target in targets]
    return _append(events) if events else []


def audit_event_rows(rows) -> list[int]:
    """Many audit rows, each with its own fields (a batch service's acts: a review queue posted, a lockbox file of
    payments), in a single insert; returns their ids, in order. Each row takes the keyword arguments of
    `audit_event`."""
    values = [_event_values(**fields) for fields in rows]
    if not values:
        return []
    with transaction.atomic(savepoint=False):
        ids = _rows_insert(values)
    transaction.on_commit(_seal_soon)
    return ids


@dataclass
class _Described:
    target: Model
    action: str
    summary: str
    claimed: bool = False


_described: contextvars.ContextVar[_Described | None] = contextvars.ContextVar("audit_described", default=None)


@contextmanager
def audit_recorded_as(target: Model, *, action: str, actor=None, summary: str = "") -> Iterator[None]:
    """The change django-auditlog records for `target` inside the block enters the chain as this act.

    A service that saves a row and wants its own audit action ("appointment.booked" with a readable
    summary) gets one chain row carrying both that and the field changes, instead of a generic
    "appointment.created" row plus its own. If no change was recorded for the target (nothing changed),
    the act is still written on leaving the block.
    """
    described = _Described(target=target, action=action, summary=summary)
    token = _described.set(described)
    try:
        yield
    finally:
        _described.reset(token)
    if not described.claimed:
        audit_event(action=action, actor=actor, target=target, summary=summary)


def claim_description(instance: Model) -> tuple[str, str] | None:
    """(action, summary) when a service described the change being recorded for `instance`; once only."""
    described = _described.get()
    if described is None or described.claimed or described.target is not instance:
        return None
    described.claimed = True
    return described.action, described.summary


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


# --- the hash chain ---------------------------------------------------------------------------------------

# PostgreSQL advisory lock key held by the one sealer that may extend the chain at a time.
_CHAIN_LOCK = 7_312_004
# A transaction that wrote audit rows may commit after later rows were sealed. The sealer that runs after
# each commit only takes rows above the last sealed one; the periodic sealer also looks back this far for
# such stragglers (no request or import transaction in clinicdesk stays open this long).
STRAGGLER_WINDOW = timedelta(hours=1)
# Each web or worker process asks for a seal at most this often after its own commits; the periodic sealer and
# `audit_verify` catch whatever is left.
SEAL_EVERY_SECONDS = 1.0
_last_seal = [0.0]


def _seal_soon() -> None:
    """After a commit that wrote audit rows: have the rows sealed by the task worker, unless this process asked
    within the last second.

    Sealing takes the new rows, hashes them and writes their links: on a busy PostgreSQL practice, 30 to 60 ms
    that the request which happened to commit first in a second used to wait for (measured on the FHIR Patient
    search benchmark: that request was most of the slowest twentieth). The worker does it moments later instead.
    """
    now = time.monotonic()
    if now - _last_seal[0] < SEAL_EVERY_SECONDS:
        return
    _last_seal[0] = now
    from .tasks import audit_new_rows_seal  # the tasks module imports this one

    try:
        audit_new_rows_seal.enqueue()
    except Exception:  # noqa: BLE001  (the request has committed; the periodic sealer takes these rows instead)
        logger.warning("Asking for the audit chain to be sealed failed; the periodic sealer will", exc_info=True)


def _take_chain_lock(*, wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: the IMMEDIATE write transaction already admits one writer at a time
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        return bool(cursor.fetchone()[0])


def audit_seal(*, wait: bool = True, look_back: timedelta | None = STRAGGLER_WINDOW, batch: int = 5000) -> int:
    """Chain committed, unsealed audit events after the last seal, in id order; returns how many were sealed.

    Always takes the rows above the last sealed one (an index range). `look_back` also takes unsealed rows
    written within that time before now (stragglers whose transaction committed late); `None` searches the
    whole trail (before a full verification); `timedelta(0)` takes only the new rows. `wait=False` gives up
    at once when another process is sealing: it takes these rows too, or the next sealer will.
    """
    sealed = 0
    while True:
        with transaction.atomic():
            if not _take_chain_lock(wait=wait):
                return sealed
            last_sealed = AuditSeal.objects.aggregate(last=Max("event_id"))["last"] or 0
            if look_back is None:
                unsealed = AuditEvent.objects.filter(seal__isnull=True)
            elif look_back:
                recent = Q(created_at__gte=timezone.now() - look_back, seal__isnull=True)
                unsealed = AuditEvent.objects.filter(Q(id__gt=last_sealed) | recent)
            else:
                unsealed = AuditEvent.objects.filter(id__gt=last_sealed)
            # Rows as tuples: a batch of model instances costs more to build than the hashing.
            columns = [column for column, _ in AuditEvent.PAYLOAD_FIELDS]
            events = list(unsealed.order_by("id").values_list("id", *columns)[:batch])
            if not events:
                return sealed
            prev = AuditSeal.objects.order_by("-id").values_list("hash", flat=True).first() or AuditSeal.GENESIS
            links = []
            for event_id, *values in events:
                digest = AuditSeal.hash_of(prev, event_id, AuditEvent.payload_of(values))
                links.append((event_id, prev, digest))
                prev = digest
            _seals_insert(links)
            sealed += len(links)
        if len(events) < batch:
            return sealed


def _seals_insert(links: list[tuple[int, str, str]]) -> None:
    """Insert (event id, previous hash, hash) links; seals get ids in list order, the order the chain is verified in."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        AuditSeal.objects.bulk_create(
            [AuditSeal(event_id=e, prev_hash=p, hash=h, sealed_at=now) for e, p, h in links], batch_size=1000)
        return
    with connection.cursor() as cursor:
        # `WITH ORDINALITY` and `ORDER BY` keep the ids in list order.
        cursor.execute(
            "INSERT INTO core_auditseal (event_id, prev_hash, hash, sealed_at) "
            "SELECT u.e, u.p, u.h, %s FROM unnest(%s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY "
            "AS u(e, p, h, n) ORDER BY u.n",
            [now, int_array_literal(e for e, _, _ in links), array_literal(p for _, p, _ in links),
             array_literal(h for _, _, h in links)],
        )


def audit_verify(*, batch: int = 5000) -> tuple[int, int | None, str]:
    """Seal what is waiting, then walk the chain in order.

    Returns (events checked, id of the first broken event or None, what is wrong). A removed event is
    reported by the id its seal still names.
    """
    audit_seal(look_back=None)
    expected_prev = AuditSeal.GENESIS
    checked = 0
    last_id = 0
    while True:
        seals = list(AuditSeal.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not seals:
            return checked, None, ""
        events = AuditEvent.objects.in_bulk([s.event_id for s in seals])
        for seal in seals:
            event = events.get(seal.event_id)
            if seal.prev_hash != expected_prev:
                return checked, seal.event_id, "its link to the previous row is broken (a row was removed or reordered)"
            if event is None:
                return checked, seal.event_id, "the row was removed"
            if AuditSeal.compute_hash(seal.prev_hash, event) != seal.hash:
                return checked, seal.event_id, "its content does not match its hash (the row was changed)"
            expected_prev = seal.hash
            checked += 1
            last_id = seal.id


def audit_chain_check() -> dict[str, Any]:
    """Verify the chain and write the outcome into the chain itself, so scheduled checks leave a trace.

    A broken chain is recorded as a failed `audit.chain_broken` event naming the first bad row;
    the new row still links to the last row, so the check never hides the damage it found.
    """
    checked, broken_id, reason = audit_verify()
    if broken_id is None:
        audit_event(
            action="audit.verified", channel=AuditChannel.SYSTEM, summary=f"Audit chain intact: {checked} row{'' if checked == 1 else 's'} checked"
        )
        return {"intact": True, "checked": checked, "broken_id": None, "reason": ""}
    audit_event(
        action="audit.chain_broken",
        outcome=AuditOutcome.FAILED,
        channel=AuditChannel.SYSTEM,
        summary=f"Audit chain broken at row {broken_id}: {reason}; {checked} rows before it are intact",
        changes={"broken_id": broken_id, "checked": checked},
    )
    return {"intact": False, "checked": checked, "broken_id": broken_id, "reason": reason}
