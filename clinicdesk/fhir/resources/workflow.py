"""Communication and Task: the practice's messages and printed letters to patients, and the staff task list, as FHIR
R4 resources (read and search; read-only).

A Communication is an outbox message about a patient (e-mail or text) or a printed letter (`letter-<letter id>`);
a letter e-mailed as a secure link is already the outbox message that carried the link. Messages to staff or
suppliers name no patient and are not served. A Task is a staff task. Both carry patient data: every one returned
is audited as a read of its patient's data, with the communications app's own action names.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from fhir.resources.R4B.communication import Communication as FhirCommunication
from fhir.resources.R4B.task import Task as FhirTask

from clinicdesk.communications.choices import (
    LetterDelivery,
    LetterStatus,
    MessageChannel,
    MessagePurpose,
    MessageState,
    StaffTaskKind,
    StaffTaskStatus,
)
from clinicdesk.communications.models import Letter, Message, StaffTask, TaskNote
from clinicdesk.communications.rendering import html_to_text
from clinicdesk.communications.selectors.letters import letter_scope
from clinicdesk.communications.selectors.outbox import outbox_scope
from clinicdesk.communications.selectors.staff_tasks import staff_task_scope
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import User
from clinicdesk.patients.models import Patient

from ..bindings import EVENT_STATUS, TASK_STATUS
from ..mappers import _checked, _instant
from ..models import FhirToken
from ..search import (
    _any_of,
    _numeric,
    bad,
    check_params,
    date_filter,
    default_tz,
    reference_id,
    split_param,
)

# Product-wide codes (the same in every practice), so the systems name no practice.
MESSAGE_PURPOSE_SYSTEM = "urn:clinicdesk:message-purpose"
STAFF_TASK_KIND_SYSTEM = "urn:clinicdesk:staff-task-kind"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
LETTER_PREFIX = "letter-"
NOTHING = Q(pk__in=[])

# Our message states as FHIR's event-status: never sent at all is not-done; tried and failed or bounced is stopped.
MESSAGE_STATE_TO_FHIR: dict[str, str] = {
    MessageState.QUEUED: "preparation",
    MessageState.SENDING: "in-progress",
    MessageState.SENT: "completed",
    MessageState.DELIVERED: "completed",
    MessageState.FAILED: "stopped",
    MessageState.BOUNCED: "stopped",
    MessageState.SUPPRESSED: "not-done",
}
# How each message went, as ParticipationMode (MSGWRIT is messaging from a mobile phone; MAILWRIT paper by post).
CHANNEL_TO_MODE = {MessageChannel.EMAIL: "EMAILWRIT", MessageChannel.SMS: "MSGWRIT"}
LETTER_MODE = "MAILWRIT"
STAFF_TASK_STATUS_TO_FHIR: dict[str, str] = {
    StaffTaskStatus.OPEN: "requested",
    StaffTaskStatus.DONE: "completed",
    StaffTaskStatus.CANCELLED: "cancelled",
}
PROVIDER_ROLES = ("clinician", "nurse")


# --- shared pieces ---------------------------------------------------------------------------------------------


def _patient_ref(patient: Patient) -> dict:
    return {"reference": f"Patient/{patient.public_id}", "display": patient.display_name}


def _person_ref(user: User | None) -> dict | None:
    """A staff member: a Practitioner reference for the providers this server serves as Practitioner (clinicians and
    nurses), the name alone for anyone else."""
    if user is None:
        return None
    ref = {"display": user.get_full_name() or user.get_username()}
    if user.role in PROVIDER_ROLES:
        ref["reference"] = f"Practitioner/{user.pk}"
    return ref


def _not_merged_away() -> Q:
    return Q(patient__merged_into__isnull=True)


def _codes(param: str, raw: str, system: str, codes: list[str], what: str) -> list[str]:
    """The codes of a comma list of `code` or `system|code` of one of our code systems (another system's codes are
    nobody's here)."""
    found = []
    for value in raw.split(","):
        code_system, bar, code = value.rpartition("|") if "|" in value else ("", "", value)
        if not code:
            raise bad(param, f"'{raw}' has an empty code.")
        if bar and code_system and code_system != system:
            continue
        if code not in codes:
            raise bad(param, f"'{code}' is not a {what}; use one of: {', '.join(codes)}.")
        found.append(code)
    return found


def _fhir_status(param: str, value: str, statuses: tuple[str, ...], mapping: dict[str, str], what: str) -> list[str]:
    """Our statuses behind one FHIR status (none for a FHIR status we never produce)."""
    if value not in statuses:
        raise bad(param, f"'{value}' is not a {what} status; use one of: {', '.join(statuses)}.")
    return [ours for ours, theirs in mapping.items() if theirs == value]


class Concatenated:
    """Querysets paged as one list (the first's rows, then the next's): a count each, and a query for each one a page
    reaches. Iterating it streams every row in chunks (the bulk export)."""

    def __init__(self, *parts: QuerySet) -> None:
        self.parts = parts
        self._counts: list[int] | None = None

    def count(self) -> int:
        if self._counts is None:
            self._counts = [part.count() for part in self.parts]
        return sum(self._counts)

    def __getitem__(self, window: slice) -> list:
        self.count()
        start, stop, rows = window.start or 0, window.stop, []
        for part, size in zip(self.parts, self._counts or [], strict=True):
            if start < size and stop > 0:
                rows += list(part[start : min(stop, size)])
            start, stop = max(0, start - size), stop - size
        return rows

    def __iter__(self) -> Iterator:
        for part in self.parts:
            yield from part.iterator(chunk_size=500)

    def filter(self, *args, **kwargs) -> Concatenated:
        """Each part filtered alike (one patient's messages and letters, for the patient's own record)."""
        return Concatenated(*(part.filter(*args, **kwargs) for part in self.parts))


def _views():
    # views.py registers this module's read and search functions, so it is imported here, when a request runs.
    from .. import views

    return views


# --- Communication ---------------------------------------------------------------------------------------------


def communication_scope(*, actor: User) -> tuple[QuerySet[Message], QuerySet[Letter]]:
    """The practice's messages about patients and its printed letters, as the outbox and letter selectors scope
    them, with what a page maps (not a merged-away patient's)."""
    messages = (outbox_scope(actor=actor).filter(patient__isnull=False).filter(_not_merged_away())
                .select_related("patient", "organization", "appointment")
                .prefetch_related("attachments").order_by("-created_at", "-id"))
    letters = (letter_scope(actor=actor).filter(status=LetterStatus.FINAL, delivery=LetterDelivery.PRINTED)
               .filter(_not_merged_away()).select_related("patient", "organization", "document")
               .order_by("-finalized_at", "-id"))
    return messages, letters


COMMUNICATION_PARAMS: dict[str, tuple[str, ...]] = {"_id": (), "patient": (), "sent": (), "status": (), "category": ()}
COMMUNICATION_DOCS: dict[str, tuple[str, str]] = {
    "_id": ("token", "The communication's id (a message's id, or letter-[id] for a printed letter)"),
    "patient": ("reference", "Patient/[id]"),
    "sent": ("date", "When it was sent, with the prefixes eq, ge, gt, le, lt; repeat for a range (printed letters "
                     "have no sent time)"),
    "status": ("token", "The event status; completed finds sent and delivered messages"),
    "category": ("token", f"What it was for ({MESSAGE_PURPOSE_SYSTEM}): {', '.join(MessagePurpose.values)}"),
}


def _communication_filters(key: str, name: str, raw: str) -> tuple[Q, Q]:
    """(messages, letters) filters for one value of one parameter (a comma list is any of its parts)."""
    if name == "_id":
        return (_any_of(key, raw, lambda v: NOTHING if v.startswith(LETTER_PREFIX) else Q(public_id=v)),
                _any_of(key, raw, lambda v: Q(public_id=v.removeprefix(LETTER_PREFIX)) if v.startswith(LETTER_PREFIX)
                        else NOTHING))
    if name == "patient":
        q = _any_of(key, raw, lambda v: Q(patient__public_id=reference_id(key, v, "Patient")))
        return q, q
    if name == "status":
        q = _any_of(key, raw, lambda v: Q(state__in=_fhir_status(key, v, EVENT_STATUS, MESSAGE_STATE_TO_FHIR, "event")))
        return q, Q() if "completed" in raw.split(",") else NOTHING
    codes = _codes(key, raw, MESSAGE_PURPOSE_SYSTEM, MessagePurpose.values, "message purpose")  # category
    return Q(purpose__in=codes), Q() if MessagePurpose.LETTER in codes else NOTHING


def communication_search(*, actor: User, params) -> Concatenated:
    """The messages then the printed letters the actor may see matching the FHIR parameters, newest first."""
    check_params(params, COMMUNICATION_PARAMS)
    messages, letters = communication_scope(actor=actor)
    for key in params:
        name, _ = split_param(key)
        if name in COMMUNICATION_PARAMS and name != "sent":
            for raw in params.getlist(key):
                on_messages, on_letters = _communication_filters(key, name, raw)
                messages, letters = messages.filter(on_messages), letters.filter(on_letters)
        elif name == "sent":
            messages = messages.filter(date_filter(key, params.getlist(key), "sent_at", tz=default_tz(), as_date=False))
            letters = letters.none()  # a printed letter's posting is not recorded
    return Concatenated(messages, letters)


def _coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def message_resource(message: Message) -> dict:
    """Communication: an outbox message to a patient, with its subject line and text, and its attachments named."""
    status = MESSAGE_STATE_TO_FHIR[message.state]
    patient = _patient_ref(message.patient)
    payload = [{"contentString": message.subject}] if message.subject else []
    payload.append({"contentString": message.body})
    payload += [{"contentAttachment": {"contentType": a.content_type, "title": a.filename}}
                for a in message.attachments.all()]
    body = {
        "resourceType": "Communication",
        "id": message.public_id,
        "meta": {"lastUpdated": _instant(message.updated_at)},
        "status": status,
        "statusReason": {"text": message.reason} if status in ("stopped", "not-done") and message.reason else None,
        "category": [_coding(MESSAGE_PURPOSE_SYSTEM, message.purpose, message.get_purpose_display())],
        "medium": [{"coding": [{"system": PARTICIPATION_MODE, "code": CHANNEL_TO_MODE[message.channel]}],
                    "text": message.get_channel_display()}],
        "subject": patient,
        "about": [{"reference": f"Appointment/{message.appointment.public_id}"}] if message.appointment_id else [],
        "sent": _instant(message.sent_at) if message.sent_at else None,
        "received": _instant(message.delivered_at) if message.delivered_at else None,
        "recipient": [patient],
        "sender": {"reference": f"Organization/{message.organization_id}", "display": message.organization.name},
        "payload": payload,
    }
    return _checked(FhirCommunication, body)


def letter_resource(letter: Letter) -> dict:
    """Communication: a final letter printed for the post, with its subject, its text and its PDF named."""
    patient = _patient_ref(letter.patient)
    payload = [{"contentString": letter.subject}, {"contentString": html_to_text(letter.body_html)}]
    if letter.document is not None:
        payload.append({"contentAttachment": {"contentType": letter.document.content_type, "title": letter.document.title}})
    body = {
        "resourceType": "Communication",
        "id": f"{LETTER_PREFIX}{letter.public_id}",
        "meta": {"lastUpdated": _instant(letter.updated_at)},
        "status": "completed",
        "category": [_coding(MESSAGE_PURPOSE_SYSTEM, MessagePurpose.LETTER, MessagePurpose.LETTER.label)],
        "medium": [{"coding": [{"system": PARTICIPATION_MODE, "code": LETTER_MODE}], "text": "Letter by post"}],
        "subject": patient,
        "recipient": [patient],
        "sender": {"reference": f"Organization/{letter.organization_id}", "display": letter.organization.name},
        "payload": payload,
    }
    return _checked(FhirCommunication, body)


def communication_resource(row: Message | Letter) -> dict:
    return letter_resource(row) if isinstance(row, Letter) else message_resource(row)


def communication_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    messages, letters = communication_scope(actor=actor)
    if resource_id.startswith(LETTER_PREFIX):
        row = letters.filter(public_id=resource_id.removeprefix(LETTER_PREFIX)).first()
        action = "letter.viewed"
    else:
        row = messages.filter(public_id=resource_id).first()
        action = "message.viewed"
    if row is None:
        raise Http404
    audit_event(action=action, actor=actor, target=row, channel=AuditChannel.API,
                summary="Read through the FHIR API as a Communication")
    return communication_resource(row)


def _audit_communications(actor: User, page: list) -> None:
    for action, kind in (("message.listed", Message), ("letter.listed", Letter)):
        audit_events(action=action, actor=actor, targets=[r for r in page if isinstance(r, kind)],
                     channel=AuditChannel.API, summary="Returned by a FHIR Communication search")


def communication_search_view(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    rows = communication_search(actor=actor, params=request.GET)
    return _views()._searchset(request, "Communication", rows, communication_resource,
                               audit=lambda page: _audit_communications(actor, page))


# --- Task ------------------------------------------------------------------------------------------------------


def task_scope(*, actor: User) -> QuerySet[StaffTask]:
    """The practice's staff tasks, as the task inbox scopes them (none without the task permission), with what a page
    maps; a merged-away patient's tasks are not served."""
    notes = TaskNote.objects.select_related("author").order_by("created_at", "id")
    return (staff_task_scope(actor=actor).filter(Q(patient__isnull=True) | _not_merged_away())
            .select_related("patient", "assignee", "created_by", "appointment")
            .prefetch_related(Prefetch("notes", queryset=notes)).order_by("-created_at", "-id"))


TASK_PARAMS: dict[str, tuple[str, ...]] = {
    "_id": (), "patient": (), "owner": (), "status": (), "code": (), "authored-on": (), "modified": (),
}
TASK_DOCS: dict[str, tuple[str, str]] = {
    "_id": ("token", "The task's id"),
    "patient": ("reference", "Patient/[id]: the patient the task is about"),
    "owner": ("reference", "Practitioner/[id]: the staff member the task is given to"),
    "status": ("token", "The task status: requested (open), completed (done) or cancelled"),
    "code": ("token", f"The kind of task ({STAFF_TASK_KIND_SYSTEM}): {', '.join(StaffTaskKind.values)}"),
    "authored-on": ("date", "When the task was written, with the prefixes eq, ge, gt, le, lt"),
    "modified": ("date", "When the task last changed, with the prefixes eq, ge, gt, le, lt"),
}


def task_search(*, actor: User, params) -> QuerySet[StaffTask]:
    """The tasks the actor may see matching the FHIR parameters, newest first."""
    check_params(params, TASK_PARAMS)
    rows = task_scope(actor=actor)
    dates = {"authored-on": "created_at", "modified": "updated_at"}
    for key in params:
        name, _ = split_param(key)
        values = params.getlist(key)
        if name in dates:
            rows = rows.filter(date_filter(key, values, dates[name], tz=default_tz(), as_date=False))
            continue
        for raw in values:
            if name == "_id":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(pk=_numeric(key, v))))
            elif name == "patient":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(patient__public_id=reference_id(key, v, "Patient"))))
            elif name == "owner":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(
                    assignee_id=_numeric(key, reference_id(key, v, "Practitioner")))))
            elif name == "status":
                rows = rows.filter(_any_of(key, raw, lambda v, key=key: Q(status__in=_fhir_status(
                    key, v, TASK_STATUS, STAFF_TASK_STATUS_TO_FHIR, "task"))))
            elif name == "code":
                rows = rows.filter(kind__in=_codes(key, raw, STAFF_TASK_KIND_SYSTEM, StaffTaskKind.values, "kind of task"))
    return rows


def task_resource(task: StaffTask) -> dict:
    """Task: a staff task, its kind, the patient and visit it is about, who it is given to, its due date and notes."""
    owner = _person_ref(task.assignee) or {"display": f"Anyone in the {task.get_assignee_role_display().lower()} role"}
    description = f"{task.title}\n\n{task.details}" if task.details else task.title
    body = {
        "resourceType": "Task",
        "id": str(task.pk),
        "meta": {"lastUpdated": _instant(task.updated_at)},
        "status": STAFF_TASK_STATUS_TO_FHIR[task.status],
        "intent": "order",
        "code": _coding(STAFF_TASK_KIND_SYSTEM, task.kind, task.get_kind_display()),
        "description": description,
        "focus": {"reference": f"Appointment/{task.appointment.public_id}"} if task.appointment_id else None,
        "for": _patient_ref(task.patient) if task.patient_id else None,
        "executionPeriod": {"end": _instant(task.completed_at)} if task.completed_at else None,
        "authoredOn": _instant(task.created_at),
        "lastModified": _instant(task.updated_at),
        "requester": _person_ref(task.created_by),
        "owner": owner,
        "restriction": {"period": {"end": task.due_on.isoformat()}} if task.due_on else None,
        "note": [{**({"authorReference": _person_ref(n.author)} if n.author_id else {}), "time": _instant(n.created_at),
                  "text": n.text} for n in task.notes.all()],
    }
    return _checked(FhirTask, body)


def task_read(request: HttpRequest, actor: User, resource_id: str) -> dict:
    if not resource_id.isdigit() or len(resource_id) > 18:
        raise Http404
    task = task_scope(actor=actor).filter(pk=int(resource_id)).first()
    if task is None:
        raise Http404
    if task.patient_id:
        audit_event(action="staff_task.viewed", actor=actor, target=task, channel=AuditChannel.API,
                    summary=f"Task read through the FHIR API: {task.title}"[:300])
    return task_resource(task)


def task_search_view(request: HttpRequest, token: FhirToken) -> dict:
    actor = token.user
    rows = task_search(actor=actor, params=request.GET)

    def audit(page: list) -> None:
        audit_events(action="staff_task.listed", actor=actor, targets=[t for t in page if t.patient_id],
                     channel=AuditChannel.API, summary="Returned by a FHIR Task search")

    return _views()._searchset(request, "Task", rows, task_resource, audit=audit)
