"""A patient's communication timeline: every message sent, reply received, letter, phone call and staff task,
newest first, in one list. A fixed number of queries whatever the number of items (one per kind, one audit row)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import NoReverseMatch, reverse

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient
from clinicdesk.scheduling.models import PhoneCall

from ..models import InboundMessage, Letter, Message, StaffTask

KINDS = {
    "message": "Messages sent",
    "reply": "Replies received",
    "letter": "Letters",
    "call": "Phone calls",
    "task": "Staff tasks",
}
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


@dataclass(frozen=True)
class TimelineItem:
    """One line of the timeline: what happened when, in words a colleague reads at a glance."""

    kind: str  # a key of KINDS
    at: datetime
    title: str
    status: str = ""
    detail: str = ""
    channel: str = ""
    url: str = ""  # the item's own page, when it has one the reader may open

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def _first_line(text: str, width: int = 120) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _letter_url(letter: Letter) -> str:
    # Letter pages belong to the letters part; until they exist the timeline shows the letter as plain text.
    try:
        return reverse("communications:letter_detail", args=[letter.public_id])
    except NoReverseMatch:
        return ""


def _messages(patient: Patient, limit: int) -> Iterable[TimelineItem]:
    rows = (
        Message.objects.filter(patient=patient, organization_id=patient.organization_id)
        .order_by("-created_at", "-id")
        .only("channel", "purpose", "state", "subject", "body", "reason", "created_at", "sent_at")[:limit]
    )
    for m in rows:
        detail = m.reason if m.reason else _first_line(m.body)
        yield TimelineItem(
            kind="message", at=m.created_at, title=m.subject or m.get_purpose_display(), status=m.get_state_display(),
            detail=detail, channel=m.get_channel_display(),
        )


def _replies(patient: Patient, limit: int) -> Iterable[TimelineItem]:
    rows = (
        InboundMessage.objects.filter(patient=patient, organization_id=patient.organization_id)
        .order_by("-received_at", "-id")
        .only("body", "action", "note", "received_at")[:limit]
    )
    for r in rows:
        done = r.get_action_display() if r.action else "Not read yet"
        yield TimelineItem(
            kind="reply", at=r.received_at, title=_first_line(r.body) or "(empty text)", status=done,
            detail=r.note, channel="Text message",
        )


def _letters(patient: Patient, limit: int) -> Iterable[TimelineItem]:
    rows = (
        Letter.objects.filter(patient=patient, organization_id=patient.organization_id)
        .order_by("-created_at", "-id")
        .only("public_id", "subject", "status", "delivery", "created_at", "finalized_at")[:limit]
    )
    for letter in rows:
        yield TimelineItem(
            kind="letter", at=letter.finalized_at or letter.created_at, title=letter.subject,
            status=letter.get_status_display(), detail=letter.get_delivery_display() if letter.delivery else "",
            channel="Letter", url=_letter_url(letter),
        )


def _calls(patient: Patient, limit: int) -> Iterable[TimelineItem]:
    rows = (
        PhoneCall.objects.filter(patient=patient, organization_id=patient.organization_id)
        .order_by("-created_at", "-id")
        .only("direction", "reason", "outcome", "notes", "created_at")[:limit]
    )
    for c in rows:
        yield TimelineItem(
            kind="call", at=c.created_at, title=f"{c.get_direction_display()} call: {c.get_reason_display()}",
            status=c.get_outcome_display(), detail=_first_line(c.notes, 200), channel="Phone",
        )


def _tasks(patient: Patient, limit: int) -> Iterable[TimelineItem]:
    rows = (
        StaffTask.objects.filter(patient=patient, organization_id=patient.organization_id)
        .order_by("-created_at", "-id")
        .only("pk", "title", "kind", "status", "due_on", "created_at")[:limit]
    )
    for t in rows:
        detail = f"Due {t.due_on:%Y-%m-%d}" if t.due_on else ""
        yield TimelineItem(
            kind="task", at=t.created_at, title=t.title, status=t.get_status_display(),
            detail=f"{t.get_kind_display()}{' · ' + detail if detail else ''}", channel="Staff task",
            url=reverse("communications:staff_task_detail", args=[t.pk]),
        )


_SOURCES = {"message": _messages, "reply": _replies, "letter": _letters, "call": _calls, "task": _tasks}
# What a reader needs besides the messages permission to see each kind.
_KIND_PERMISSION = {"call": Perm.CALLS, "task": Perm.STAFF_TASKS}


def timeline_kinds(*, actor: User) -> dict[str, str]:
    """The kinds this actor may see on a timeline, with their labels."""
    return {k: label for k, label in KINDS.items() if k not in _KIND_PERMISSION or actor.has_perm_code(_KIND_PERMISSION[k])}


def patient_timeline(
    *,
    actor: User,
    patient: Patient,
    kinds: Iterable[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    action: str = "patient.timeline_viewed",
    channel: str | None = None,
) -> list[TimelineItem]:
    """Every message, reply, letter, call and task about `patient`, newest first (at most `limit`).

    Opening it is a read of the patient's record: one audit row (`action`, e.g. "patient.timeline_exported"
    with the export channel for the CSV). Another practice's patient is not found (404).
    """
    if actor is None or not actor.has_perm_code(Perm.MESSAGES_VIEW):
        raise PermissionDenied(f"Needs {Perm.MESSAGES_VIEW}")
    if patient.organization_id != actor.organization_id or patient.merged_into_id:
        raise Http404("No such patient.")
    allowed = timeline_kinds(actor=actor)
    wanted = list(dict.fromkeys(kinds)) if kinds else list(allowed)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise ValidationError({"kind": f"Unknown kind '{unknown[0]}'; use one of: {', '.join(KINDS)}."})
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": f"Give a limit from 1 to {MAX_LIMIT}."})
    items: list[TimelineItem] = []
    for kind in wanted:
        if kind in allowed:
            items.extend(_SOURCES[kind](patient, limit))
    items.sort(key=lambda item: item.at, reverse=True)
    items = items[:limit]
    audit_event(action=action, actor=actor, target=patient, channel=channel,
                summary=f"Communication timeline: {len(items)} item(s) of {', '.join(k for k in wanted if k in allowed)}"[:300])
    return items
