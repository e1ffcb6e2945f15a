"""The office manager's roster set-up for a department: its shift types, its coverage needs and each person's
contract, each listed (with CSV) and edited on its own form. The services check the rules."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.models import Department
from clinicdesk.core.permissions import Perm
from clinicdesk.staff.models import Skill, StaffMember

from ..forms import ContractForm, CoverageNeedForm, ShiftTypeForm, add_service_errors
from ..models import Contract, CoverageNeed, ShiftType
from ..services import setup as services

LISTS = ("shift-types", "coverage", "contracts")


def _department(request: HttpRequest) -> Department | None:
    departments = Department.objects.filter(organization_id=request.user.organization_id, is_active=True)
    wanted = request.GET.get("department", "")
    if wanted.isdigit():
        found = departments.filter(pk=int(wanted)).first()
        if found is None:
            raise Http404("No such department.")
        return found
    with_shifts = departments.filter(shift_types__isnull=False).distinct().first()
    return with_shifts or departments.first()


@require_GET
@requires(Perm.ROSTER_MANAGE)
def setup(request: HttpRequest) -> HttpResponse:
    """A department's shift types, coverage needs and contracts; ?format=csv&list=<shift-types|coverage|contracts>."""
    department = _department(request)
    shift_types = list(ShiftType.objects.filter(department=department).prefetch_related(
        Prefetch("skills", Skill.objects.order_by("name")))) if department else []
    needs = list(CoverageNeed.objects.filter(department=department).select_related("shift_type", "skill", "location")
                 ) if department else []
    people = list(StaffMember.objects.filter(organization_id=request.user.organization_id, department=department)
                  .exclude(status="offboarded").select_related("roster_contract")) if department else []
    contracts = [(p, getattr(p, "roster_contract", None)) for p in people]
    if request.GET.get("format") == "csv":
        return _csv(request.GET.get("list", ""), department, shift_types, needs, contracts)
    return render(request, "rostering/setup.html", {
        "department": department, "shift_types": shift_types, "needs": needs, "contracts": contracts,
        "departments": Department.objects.filter(organization_id=request.user.organization_id, is_active=True),
    })


def _csv(which: str, department, shift_types, needs, contracts) -> HttpResponse:
    name = department.code if department else "none"
    if which == "shift-types":
        return csv_response(f"shift-types-{name}.csv", ["code", "name", "start", "minutes", "night", "skills", "in use"], (
            [s.code, s.name, f"{s.start_time:%H:%M}", s.length_minutes, "yes" if s.is_night else "no",
             " ".join(k.code for k in s.skills.all()), "yes" if s.is_active else "no"] for s in shift_types))
    if which == "coverage":
        return csv_response(f"coverage-{name}.csv", ["shift", "skill", "location", "weekday", "date", "minimum",
                                                      "preferred"], (
            [n.shift_type.code, n.skill.code if n.skill else "", n.location.code if n.location else "",
             n.get_weekday_display() if n.weekday is not None else "", n.on_date or "", n.minimum, n.preferred]
            for n in needs))
    if which == "contracts":
        return csv_response(f"contracts-{name}.csv", ["person", "min hours/week", "max hours/week", "max per type",
                                                       "max run", "min run", "min days off", "rest hours",
                                                       "max weekends"], (
            [p.full_name] + ([c.min_hours_per_week, c.max_hours_per_week,
                              " ".join(f"{k}={v}" for k, v in sorted(c.max_shifts_by_type.items())),
                              c.max_consecutive_shifts or "", c.min_consecutive_shifts, c.min_consecutive_days_off,
                              c.min_rest_hours, c.max_weekends if c.max_weekends is not None else ""]
                             if c else ["no contract"] + [""] * 7)
            for p, c in contracts))
    raise Http404("Choose list=shift-types, coverage or contracts.")


def _back(department_id) -> str:
    return f"{reverse('rostering:setup')}?department={department_id}"


def _edit(request, *, form, title: str, save, cancel: str, success: str, delete_url: str = "") -> HttpResponse:
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                row = save(form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, success.format(row=row))
                return redirect(_back(getattr(row, "department_id", None) or row.staff.department_id))
    return render(request, "rostering/setup_form.html", {"form": form, "title": title, "cancel": cancel,
                                                          "delete_url": delete_url}, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.ROSTER_MANAGE)
def shift_type_edit(request: HttpRequest, shift_type_id: int | None = None) -> HttpResponse:
    row = get_object_or_404(ShiftType, pk=shift_type_id, organization_id=request.user.organization_id) \
        if shift_type_id else None
    initial = {} if row else {"department": request.GET.get("department")}
    form = ShiftTypeForm(request.POST or None, instance=row, initial=initial, organization_id=request.user.organization_id)

    def save(data):
        data = dict(data)
        skills = list(data.pop("skills", []))
        return services.shift_type_save(actor=request.user, shift_type=row, skills=skills, **data)
    return _edit(request, form=form, title=f"Shift type {row.name}" if row else "New shift type", save=save,
                 cancel=_back(row.department_id if row else request.GET.get("department", "")),
                 success="Shift type {row.name} saved.")


@require_http_methods(["GET", "POST"])
@requires(Perm.ROSTER_MANAGE)
def coverage_need_edit(request: HttpRequest, need_id: int | None = None) -> HttpResponse:
    row = get_object_or_404(CoverageNeed, pk=need_id, organization_id=request.user.organization_id) if need_id else None
    initial = {} if row else {"department": request.GET.get("department")}
    form = CoverageNeedForm(request.POST or None, instance=row, initial=initial,
                            organization_id=request.user.organization_id)
    return _edit(request, form=form, title="Coverage need" if row else "New coverage need",
                 save=lambda data: services.coverage_need_save(actor=request.user, need=row, **data),
                 cancel=_back(row.department_id if row else request.GET.get("department", "")),
                 success="Coverage need {row} saved.",
                 delete_url=reverse("rostering:coverage_need_delete", args=[row.pk]) if row else "")


@require_POST
@requires(Perm.ROSTER_MANAGE)
def coverage_need_delete(request: HttpRequest, need_id: int) -> HttpResponse:
    row = get_object_or_404(CoverageNeed, pk=need_id, organization_id=request.user.organization_id)
    department_id = row.department_id
    services.coverage_need_delete(actor=request.user, need=row)
    messages.success(request, "Coverage need removed.")
    return redirect(_back(department_id))


@require_http_methods(["GET", "POST"])
@requires(Perm.ROSTER_MANAGE)
def contract_edit(request: HttpRequest, staff_id: int) -> HttpResponse:
    person = get_object_or_404(StaffMember, pk=staff_id, organization_id=request.user.organization_id)
    form = ContractForm(request.POST or None, instance=Contract.objects.filter(staff=person).first())
    return _edit(request, form=form, title=f"Contract of {person.full_name}",
                 save=lambda data: services.contract_save(actor=request.user, staff=person, **data),
                 cancel=_back(person.department_id), success="Contract of {row.staff.full_name} saved.")
