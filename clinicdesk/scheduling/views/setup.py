"""Schedule setup pages: appointment types, providers' availability templates, exceptions (vacation,
blocked time, sick days, extra hours), blocking a provider's day with the list of patients to call, and
each location's holiday calendar and slot grid. Types, templates and location settings need
schedule.manage; exceptions and blocking a day are front-desk work (schedule.book)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.models import Location
from clinicdesk.core.permissions import Perm
from clinicdesk.staff.selectors import provider_credential_lapses

from ..appointment_forms import (
    AppointmentTypeForm,
    AvailabilityTemplateForm,
    BlockDayForm,
    LocationScheduleForm,
    ScheduleExceptionForm,
    add_service_errors,
    format_spans,
    locations_of,
)
from ..booking_advisories import provider_advisories
from ..models import AppointmentType, AvailabilityTemplate, LocationSchedule, ScheduleException
from ..selectors.availability import location_tz
from ..services import availability as services

EXCEPTION_PAGE = 200


def _org(request: HttpRequest) -> int:
    return request.user.organization_id


# --- appointment types ----------------------------------------------------------------------------------------


@require_GET
@requires(Perm.SCHEDULE_MANAGE)
def type_list(request: HttpRequest) -> HttpResponse:
    kinds = AppointmentType.objects.filter(organization_id=_org(request)).prefetch_related("equipment").order_by("-is_active", "name")
    return render(request, "scheduling/setup/type_list.html", {"kinds": kinds})


def _type_form(request: HttpRequest, kind: AppointmentType | None) -> HttpResponse:
    form = AppointmentTypeForm(request.POST or None, instance=kind, organization_id=_org(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "equipment"}
        try:
            if kind is None:
                services.appointment_type_create(actor=request.user, equipment=form.cleaned_data["equipment"], **values)
            else:
                services.appointment_type_update(actor=request.user, appointment_type=kind, equipment=form.cleaned_data["equipment"],
                                                 **values)
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            messages.success(request, f"Appointment type “{values['name']}” saved.")
            return redirect("scheduling:setup_types")
    elif request.method == "POST":
        status = 400
    return render(request, "scheduling/setup/form.html", {
        "form": form, "title": "New appointment type" if kind is None else f"Edit {kind.name}", "back": "scheduling:setup_types",
    }, status=status)  # fmt: skip


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_MANAGE)
def type_create(request: HttpRequest) -> HttpResponse:
    return _type_form(request, None)


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_MANAGE)
def type_edit(request: HttpRequest, type_id: int) -> HttpResponse:
    kind = AppointmentType.objects.filter(pk=type_id, organization_id=_org(request)).first()
    if kind is None:
        raise Http404("No such appointment type.")
    return _type_form(request, kind)


# --- availability templates ----------------------------------------------------------------------------------


@require_GET
@requires(Perm.SCHEDULE_MANAGE)
def template_list(request: HttpRequest) -> HttpResponse:
    templates = list(
        AvailabilityTemplate.objects.filter(organization_id=_org(request))
        .select_related("provider", "location").prefetch_related("blocks")
        .order_by("provider__last_name", "provider__first_name", "location__name", "effective_from")
    )
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    today = timezone.localdate()
    lapses = provider_credential_lapses(organization=_org(request), user_ids={t.provider_id for t in templates},
                                        start=today, end=today + timedelta(days=31))
    rows = [{"template": t, "week": [(days[d], format_spans([b for b in t.blocks.all() if b.weekday == d])) for d in range(7)],
             "warnings": lapses.get(t.provider_id, [])}
            for t in templates]
    return render(request, "scheduling/setup/template_list.html", {"rows": rows, "days": days})


def _template_form(request: HttpRequest, template: AvailabilityTemplate | None) -> HttpResponse:
    form = AvailabilityTemplateForm(request.POST or None, organization_id=_org(request), template=template)
    status = 200
    if request.method == "POST" and form.is_valid():
        blocks = form.blocks()
        if not form.errors:
            data = form.cleaned_data
            try:
                services.availability_template_save(
                    actor=request.user, provider=data["provider"], location=data["location"], name=data["name"],
                    effective_from=data["effective_from"], effective_to=data.get("effective_to"), blocks=blocks, template=template,
                )
            except ValidationError as exc:
                add_service_errors(form, exc, {"blocks": None})
                status = 400
            else:
                messages.success(request, "Availability saved.")
                for warning in provider_advisories(provider=data["provider"], on=timezone.localdate(),
                                                   until=data.get("effective_to") or data["effective_from"]):
                    messages.warning(request, warning)
                return redirect("scheduling:setup_templates")
        else:
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "scheduling/setup/form.html", {
        "form": form, "title": "New usual week" if template is None else f"Edit {template}",
        "back": "scheduling:setup_templates", "note": "Times are the location's local time; they stay the same across daylight saving changes.",
    }, status=status)  # fmt: skip


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_MANAGE)
def template_create(request: HttpRequest) -> HttpResponse:
    return _template_form(request, None)


def _template(request: HttpRequest, template_id: int) -> AvailabilityTemplate:
    template = AvailabilityTemplate.objects.filter(pk=template_id, organization_id=_org(request)).select_related(
        "provider", "location"
    ).first()
    if template is None:
        raise Http404("No such availability template.")
    return template


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_MANAGE)
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    return _template_form(request, _template(request, template_id))


@require_POST
@requires(Perm.SCHEDULE_MANAGE)
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    services.availability_template_delete(actor=request.user, template=template)
    messages.success(request, "Availability removed; booked appointments are unchanged.")
    return redirect("scheduling:setup_templates")


# --- exceptions and blocking a day ------------------------------------------------------------------------------


def _default_zone(request: HttpRequest) -> str:
    first = locations_of(_org(request)).values_list("time_zone", flat=True).first()
    return first or "America/New_York"


@require_GET
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def exception_list(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=1)
    exceptions = list(
        ScheduleException.objects.filter(organization_id=_org(request), ends_at__gte=since)
        .select_related("provider", "location").order_by("starts_at")[:EXCEPTION_PAGE]
    )
    zone = location_tz(_default_zone(request))
    rows = [{"exception": e, "tz": location_tz(e.location.time_zone) if e.location else zone} for e in exceptions]
    for row in rows:
        row["start"], row["end"] = row["exception"].starts_at.astimezone(row["tz"]), row["exception"].ends_at.astimezone(row["tz"])
    return render(request, "scheduling/setup/exception_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def exception_create(request: HttpRequest) -> HttpResponse:
    form = ScheduleExceptionForm(request.POST or None, organization_id=_org(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        starts_at, ends_at = form.instants(_default_zone(request))
        try:
            exception = services.schedule_exception_create(
                actor=request.user, kind=data["kind"], provider=data.get("provider"), location=data.get("location"),
                starts_at=starts_at, ends_at=ends_at, reason=data.get("reason", ""),
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"starts_at": "start_date", "ends_at": "end_date"})
            status = 400
        else:
            affected = services.affected_appointments(exception=exception)
            if affected:
                return _affected_page(request, exception, affected)
            messages.success(request, "Exception saved.")
            return redirect("scheduling:setup_exceptions")
    elif request.method == "POST":
        status = 400
    return render(request, "scheduling/setup/form.html", {
        "form": form, "title": "Add an exception", "back": "scheduling:setup_exceptions",
        "note": "Vacation, sick days and blocked time close the hours; extra availability opens them (also on a holiday).",
    }, status=status)  # fmt: skip


@require_POST
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def exception_delete(request: HttpRequest, exception_id: int) -> HttpResponse:
    exception = ScheduleException.objects.filter(pk=exception_id, organization_id=_org(request)).first()
    if exception is None:
        raise Http404("No such exception.")
    services.schedule_exception_delete(actor=request.user, exception=exception)
    messages.success(request, "Exception removed.")
    return redirect("scheduling:setup_exceptions")


@require_GET
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def exception_affected(request: HttpRequest, exception_id: int) -> HttpResponse:
    """The patients to call for one exception (the list stays reachable after blocking a day)."""
    exception = ScheduleException.objects.filter(pk=exception_id, organization_id=_org(request)).select_related(
        "provider", "location"
    ).first()
    if exception is None:
        raise Http404("No such exception.")
    return _affected_page(request, exception, services.affected_appointments(exception=exception))


def _affected_page(request: HttpRequest, exception: ScheduleException, affected) -> HttpResponse:
    from clinicdesk.core.audit import audit_events

    audit_events(action="appointment.listed", actor=request.user, targets=affected, summary="Patients to call after a schedule change")
    rows = [{"appointment": a, "local": a.starts_at.astimezone(location_tz(a.location.time_zone))} for a in affected]
    here = reverse("scheduling:setup_exception_affected", kwargs={"exception_id": exception.pk})
    return render(request, "scheduling/setup/affected.html", {"exception": exception, "rows": rows, "here": here})


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def block_day(request: HttpRequest) -> HttpResponse:
    """A provider is out for the day: block it and list the patients to call (move or cancel each)."""
    initial = {"day": timezone.localdate()}
    form = BlockDayForm(request.POST or None, organization_id=_org(request), initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            exception, _affected = services.provider_day_block(
                actor=request.user, provider=data["provider"], day=data["day"], kind=data["kind"], reason=data.get("reason", ""),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            messages.success(request, f"{data['provider']}'s day on {data['day']:%a %b %-d} is blocked.")
            return redirect("scheduling:setup_exception_affected", exception_id=exception.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "scheduling/setup/form.html", {
        "form": form, "title": "Block a provider's day", "back": "scheduling:setup_exceptions", "submit": "Block the day",
    }, status=status)  # fmt: skip


# --- location settings ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_MANAGE)
def location_settings(request: HttpRequest, location_id: int) -> HttpResponse:
    location = Location.objects.filter(pk=location_id, organization_id=_org(request)).first()
    if location is None:
        raise Http404("No such location.")
    instance = LocationSchedule.objects.filter(location=location).first() or LocationSchedule(location=location)
    form = LocationScheduleForm(request.POST or None, instance=instance)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.location_schedule_update(actor=request.user, location=location, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
            status = 400
        else:
            messages.success(request, f"Schedule settings of {location.name} saved.")
            return redirect("scheduling:setup_templates")
    elif request.method == "POST":
        status = 400
    return render(request, "scheduling/setup/form.html", {
        "form": form, "title": f"Schedule settings · {location.name}", "back": "scheduling:setup_templates",
        "note": "Public holidays of the country (and state) close the location unless extra availability opens them.",
    }, status=status)  # fmt: skip
