"""Onboarding and training pages: the onboarding board, applying a checklist, ticking tasks, courses,
assignments, completion with evidence, and compliance by department with its chart."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.form_pages import form_round_trip
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm

from .. import selectors
from ..forms import AssignForm, AssignmentFilterForm, ChecklistApplyForm, CompleteForm, CourseForm
from ..models import Course, OnboardingTask, TrainingAssignment
from ..services.onboarding import checklist_apply, onboarding_task_set
from ..services.training import course_save, training_assign, training_complete
from .pages import today
from .records import detail_url


@require_GET
@requires(Perm.STAFF_VIEW)
def onboarding_board(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    return render(request, "staff/onboarding_board.html", {
        "board": selectors.onboarding_board(user=request.user, today=today(), include_finished=show_all),
        "show_all": show_all, "today": today(),
    })


@require_GET
@requires(Perm.STAFF_VIEW)
def checklist_list(request: HttpRequest) -> HttpResponse:
    """The onboarding checklists by role, each with its tasks, owners and due days."""
    return render(request, "staff/checklist_list.html", {"templates": selectors.checklist_templates(user=request.user)})


@require_POST
@requires(Perm.STAFF_MANAGE)
def checklist_apply_view(request: HttpRequest, staff_id: int) -> HttpResponse:
    member = selectors.staff_get(user=request.user, staff_id=staff_id)
    form = ChecklistApplyForm(request.POST, organization_id=request.user.organization_id)
    if form.is_valid():
        try:
            plan = checklist_apply(actor=request.user, member=member, template=form.cleaned_data["template"],
                                   start_date=form.cleaned_data["start_date"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Applied the {plan.template.name} checklist to {member.full_name}: "
                                      f"{plan.tasks.count()} tasks from {plan.start_date:%a %b %-d}.")
            return redirect(detail_url(member, "onboarding"))
    return render(request, "staff/checklist_apply.html", {"form": form, "member": member}, status=400)


@require_POST
@requires(Perm.STAFF_MANAGE)
def onboarding_task_toggle(request: HttpRequest, onboarding_task_id: int) -> HttpResponse:
    task = OnboardingTask.objects.filter(pk=onboarding_task_id, plan__organization_id=request.user.organization_id).select_related(
        "plan__staff").first()
    if task is None:
        raise Http404("No such task.")
    try:
        onboarding_task_set(actor=request.user, task=task, done=request.POST.get("done") == "1")
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    if request.POST.get("next") == "board":
        return redirect("staff:onboarding_board")
    return redirect(detail_url(task.plan.staff, "onboarding"))


@require_GET
@requires(Perm.TRAINING_MANAGE)
def training_compliance_view(request: HttpRequest) -> HttpResponse:
    rows = selectors.training_compliance(user=request.user, today=today())
    chart = {"labels": [r.department for r in rows], "percent": [r.percent for r in rows]}
    if request.GET.get("format") == "csv":
        return csv_response("training-compliance.csv", ["department", "compliant", "assignments", "overdue",
                                                        "percent"],
                            ([r.department, r.compliant, r.total, r.overdue, r.percent] for r in rows))
    return render(request, "staff/training_compliance.html", {"rows": rows, "chart": chart})


@require_GET
@requires(Perm.TRAINING_MANAGE)
def course_list(request: HttpRequest) -> HttpResponse:
    courses = selectors.course_list(user=request.user)
    if request.GET.get("format") == "csv":
        return csv_response("courses.csv", ["code", "name", "renewal_months", "days_to_complete", "active",
                                            "open", "completed"],
                            ([c.code, c.name, c.renewal_months or "", c.days_to_complete, c.is_active, c.open_count,
                              c.done_count] for c in courses))
    return render(request, "staff/course_list.html", {"courses": courses})


def _course(request: HttpRequest, course_id: int) -> Course:
    course = Course.objects.filter(pk=course_id, organization_id=request.user.organization_id).first()
    if course is None:
        raise Http404("No such course.")
    return course


def _course_form(request: HttpRequest, course: Course | None) -> HttpResponse:
    form = CourseForm(request.POST or None, instance=course)
    return form_round_trip(request, form, lambda f: course_save(actor=request.user, course=course, data=f.cleaned_data),
                           template="staff/course_form.html", context={"course": course},
                           done=lambda saved: (f"Saved the course {saved.name}.", reverse("staff:course_list")))


@require_http_methods(["GET", "POST"])
@requires(Perm.TRAINING_MANAGE)
def course_create(request: HttpRequest) -> HttpResponse:
    return _course_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.TRAINING_MANAGE)
def course_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    return _course_form(request, _course(request, course_id))


@require_http_methods(["GET", "POST"])
@requires(Perm.TRAINING_MANAGE)
def course_assign(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course(request, course_id)
    form = AssignForm(request.POST or None, organization_id=request.user.organization_id)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                done = training_assign(actor=request.user, members=form.members(), course=course,
                                       due_date=form.cleaned_data.get("due_date"))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Assigned {course.name} to {len(done)} staff member(s).")
                return redirect(f"{reverse('staff:assignment_list')}?course={course.pk}")
    return render(request, "staff/course_assign.html", {"form": form, "course": course}, status=status)


@require_GET
@requires(Perm.TRAINING_MANAGE)
def assignment_list(request: HttpRequest) -> HttpResponse:
    form = AssignmentFilterForm(request.GET or None, organization_id=request.user.organization_id)
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or ""
    course, department = data.get("course"), data.get("department")
    rows = selectors.training_assignments(
        user=request.user, status="" if status == "overdue" else status, course_id=course.pk if course else None,
        department_id=department.pk if department else None, overdue_on=today() if status == "overdue" else None,
    )
    if request.GET.get("format") == "csv":
        return csv_response("training-assignments.csv", [
            "last_name", "first_name", "department", "course", "due_date", "status", "completed_on", "evidence"], (
            [a.staff.last_name, a.staff.first_name, a.staff.department.name if a.staff.department else "",
             a.course.name, a.due_date, a.status, a.completed_on or "",
             a.evidence_note or (a.evidence.title if a.evidence else "")]
            for a in rows.iterator(chunk_size=500)
        ))
    page, query = page_of(request, rows)
    return render(request, "staff/assignment_list.html", {"form": form, "page": page, "query": query,
                                                          "today": today()})


def _complete(request: HttpRequest, assignment: TrainingAssignment, *, back: str) -> HttpResponse:
    form = CompleteForm(request.POST or None, request.FILES or None, initial={"completed_on": today()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                training_complete(actor=request.user, assignment=assignment, completed_on=data.get("completed_on"),
                                  evidence_note=data.get("evidence_note") or "", file=data.get("evidence"))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Recorded {assignment.course.name} as completed.")
                return redirect(back)
    return render(request, "staff/assignment_complete.html", {"form": form, "assignment": assignment, "back": back},
                  status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.TRAINING_MANAGE)
def assignment_complete(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = TrainingAssignment.objects.filter(
        pk=assignment_id, organization_id=request.user.organization_id).select_related("staff", "course").first()
    if assignment is None:
        raise Http404("No such assignment.")
    return _complete(request, assignment, back=detail_url(assignment.staff, "training"))


@require_http_methods(["GET", "POST"])
@requires(Perm.STAFF_SELF)
def my_assignment_complete(request: HttpRequest, my_assignment_id: int) -> HttpResponse:
    """The signed-in person records their own course as done, with the certificate."""
    assignment = TrainingAssignment.objects.filter(
        pk=my_assignment_id, organization_id=request.user.organization_id, staff__user=request.user
    ).select_related("staff", "course").first()
    if assignment is None:
        raise Http404("No such assignment.")
    return _complete(request, assignment, back=reverse("staff:my_training"))
