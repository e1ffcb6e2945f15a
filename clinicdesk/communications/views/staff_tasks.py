"""The staff task inbox: the list with its filters and CSV, a new task (from the inbox or a patient's page),
and one task with its notes and its buttons. Views parse, check permission, call one service or selector,
and render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.pick import PickPage, patient_pick_step
from clinicdesk.patients.selectors.records import patient_for_change

from ..selectors import staff_tasks as selectors
from ..services import tasks as services
from ..task_forms import (
    StaffTaskFilterForm,
    StaffTaskForm,
    TaskAssignForm,
    TaskCloseForm,
    TaskNoteForm,
)

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 10_000


def _filters(request: HttpRequest) -> tuple[StaffTaskFilterForm, dict | None]:
    data = request.GET.copy()
    data.setdefault("status", "open")  # '' stays an explicit "any status"
    form = StaffTaskFilterForm(data)
    if not form.is_valid():
        return form, None
    values = dict(form.cleaned_data)
    values["mine_only"] = values.pop("mine")
    return form, values


def _inbox(request: HttpRequest, form: StaffTaskFilterForm, values: dict | None):
    if values is None:
        return selectors.staff_task_scope(actor=request.user).none(), 400
    try:
        return selectors.staff_task_inbox(actor=request.user, **values), 200
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return selectors.staff_task_scope(actor=request.user).none(), 400


@require_GET
@requires(Perm.STAFF_TASKS)
def staff_task_inbox(request: HttpRequest) -> HttpResponse:
    """Tasks for me and my role, soonest due first, with the filters and the counts."""
    form, values = _filters(request)
    rows, status = _inbox(request, form, values)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    about_patients = [t.patient for t in page if t.patient_id]
    if about_patients:
        audit_events(action="patient.listed", actor=request.user, targets=list({p.pk: p for p in about_patients}.values()),
                     summary="Shown in the staff task inbox")
    return render(request, "communications/staff_task_inbox.html", {
        "form": form, "page": page, "query": query.urlencode(), "today": timezone.localdate(),
        "counts": selectors.staff_task_counts(actor=request.user),
    }, status=status)


@require_GET
@requires(Perm.STAFF_TASKS)
def staff_task_export(request: HttpRequest) -> HttpResponse:
    """The inbox as filtered, as CSV; every patient in it gets an 'exported' audit row."""
    form, values = _filters(request)
    rows, status = _inbox(request, form, values)
    if status != 200:
        return render(request, "communications/staff_task_inbox.html", {"form": form, "page": None}, status=400)
    tasks = list(rows[: EXPORT_MAX_ROWS + 1])
    if len(tasks) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} tasks; narrow the filters before exporting.")
        return redirect(f"{reverse('communications:staff_tasks')}?{request.GET.urlencode()}")
    audit_event(action="staff_tasks.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Exported {len(tasks)} task(s)")
    patients = list({t.patient.pk: t.patient for t in tasks if t.patient_id}.values())
    if patients:
        audit_events(action="patient.exported", actor=request.user, targets=patients, channel=AuditChannel.EXPORT,
                     summary="Included in a staff task CSV")
    header = ["due", "title", "kind", "status", "person", "role", "patient", "MRN", "reference", "details",
              "notes", "created", "completed"]
    data = (
        [t.due_on.isoformat() if t.due_on else "", t.title, t.get_kind_display(), t.get_status_display(),
         str(t.assignee or ""), t.get_assignee_role_display(), t.patient.display_name if t.patient_id else "",
         t.patient.mrn if t.patient_id else "", t.reference, t.details, t.note_count,
         timezone.localtime(t.created_at).isoformat(timespec="minutes"),
         timezone.localtime(t.completed_at).isoformat(timespec="minutes") if t.completed_at else ""]
        for t in tasks
    )
    return csv_response("staff-tasks.csv", header, data)


@require_http_methods(["GET", "POST"])
@requires(Perm.STAFF_TASKS)
def staff_task_create(request: HttpRequest) -> HttpResponse:
    """A new task: find the patient first (or go on without one), then what, for whom and by when."""
    public_id = request.GET.get("patient", "")
    patient = None
    if public_id:
        patient = patient_for_change(actor=request.user, public_id=public_id)
    elif request.GET.get("no_patient") != "1":
        here = reverse("communications:staff_task_create")
        return patient_pick_step(request, PickPage(
            title="New task", action=here, back_url=reverse("communications:staff_tasks"), back_label="Tasks",
            skip_url=f"{here}?no_patient=1", skip_label="A task not about a patient"))
    form = StaffTaskForm(request.POST or None, actor=request.user, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            task = services.staff_task_create(actor=request.user, patient=patient, **form.service_values())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Task added: {task.title}")
            return redirect("communications:staff_task_detail", task_id=task.pk)
    return render(request, "communications/staff_task_form.html", {"form": form, "patient": patient},
                  status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.STAFF_TASKS)
def staff_task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """One task with its notes and what can be done with it; opening a task about a patient is audited."""
    task = selectors.staff_task_get(actor=request.user, task_id=task_id)
    if task.patient_id:
        audit_event(action="staff_task.viewed", actor=request.user, target=task, patient=task.patient,
                    summary=f"Task opened: {task.title}"[:300])
    return render(request, "communications/staff_task_detail.html", {
        "task": task, "notes": list(task.notes.all()), "note_form": TaskNoteForm(), "close_form": TaskCloseForm(),
        "assign_form": TaskAssignForm(actor=request.user, initial={"assignee": task.assignee_id,
                                                                    "assignee_role": task.assignee_role}),
        "today": timezone.localdate(),
    })


def _carry_out(request: HttpRequest, act: Callable[[], Any], done: str) -> None:
    try:
        act()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)


def _back(task_id: int) -> HttpResponse:
    return redirect("communications:staff_task_detail", task_id=task_id)


@require_POST
@requires(Perm.STAFF_TASKS)
def staff_task_note(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.staff_task_get(actor=request.user, task_id=task_id)
    form = TaskNoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write the note (at most 4,000 characters).")
        return _back(task.pk)
    _carry_out(request, lambda: services.staff_task_note_add(actor=request.user, task=task, text=form.cleaned_data["text"]),
               "Note added.")
    return _back(task.pk)


@require_POST
@requires(Perm.STAFF_TASKS)
def staff_task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.staff_task_get(actor=request.user, task_id=task_id)
    form = TaskCloseForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    _carry_out(request, lambda: services.staff_task_complete(actor=request.user, task=task, note=note), "Task done.")
    if request.POST.get("next") == "inbox":
        return redirect("communications:staff_tasks")
    return _back(task.pk)


@require_POST
@requires(Perm.STAFF_TASKS)
def staff_task_reopen(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.staff_task_get(actor=request.user, task_id=task_id)
    _carry_out(request, lambda: services.staff_task_reopen(actor=request.user, task=task), "Task reopened.")
    return _back(task.pk)


@require_POST
@requires(Perm.STAFF_TASKS)
def staff_task_cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.staff_task_get(actor=request.user, task_id=task_id)
    form = TaskCloseForm(request.POST)
    reason = form.cleaned_data["note"] if form.is_valid() else ""
    _carry_out(request, lambda: services.staff_task_cancel(actor=request.user, task=task, reason=reason), "Task cancelled.")
    return _back(task.pk)


@require_POST
@requires(Perm.STAFF_TASKS)
def staff_task_assign(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.staff_task_get(actor=request.user, task_id=task_id)
    form = TaskAssignForm(request.POST, actor=request.user)
    if not form.is_valid():
        messages.error(request, "Choose a colleague of this practice or a role.")
        return _back(task.pk)
    _carry_out(request, lambda: services.staff_task_assign(actor=request.user, task=task, **form.cleaned_data),
               "Task handed on.")
    return _back(task.pk)
