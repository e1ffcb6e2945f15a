"""Eligibility pages: a day's appointments with their coverage's latest answer (and CSV), "check now" per
coverage, checking the whole day in the background with its progress, and one 271 read into a benefits table."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from ..models import Coverage, EligibilityCheck
from ..selectors import eligibility as selectors
from ..services.eligibility import eligibility_check, eligibility_run_start, next_business_day


def _day(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else next_business_day(timezone.localdate())
    except ValueError:
        raise ValidationError({"day": "The day must be a date (YYYY-MM-DD)."}) from None


@require_GET
@requires(Perm.COVERAGE_VIEW)
def eligibility_day(request: HttpRequest) -> HttpResponse:
    if request.headers.get("HX-Request") and request.GET.get("part") == "progress":
        return _progress(request)
    try:
        day = _day(request.GET.get("day"))
    except ValidationError as error:
        return render(request, "insurance/eligibility/day.html", {"error": error.message_dict["day"][0], "rows": []},
                      status=400)
    rows = selectors.eligibility_day(user=request.user, day=day)
    if rows:
        audit_events(action="eligibility.day_viewed", actor=request.user,
                     targets=[row.appointment.patient for row in rows],
                     summary=f"Eligibility of the appointments of {day:%m/%d/%Y}")
    if request.GET.get("format") == "csv":
        return csv_response(f"eligibility-{day.isoformat()}.csv", [
            "time", "patient", "MRN", "payer", "member ID", "status", "plan", "copay", "coinsurance %",
            "deductible remaining", "checked at", "message"], (
            [timezone.localtime(r.appointment.starts_at).strftime("%H:%M"), str(r.appointment.patient),
             r.appointment.patient.mrn, r.coverage.payer.name, r.coverage.member_id,
             r.check.get_status_display() if r.check else "Not checked", r.check.plan_name if r.check else "",
             r.check.copay if r.check else "", r.check.coinsurance_percent if r.check else "",
             r.check.deductible_remaining if r.check else "",
             timezone.localtime(r.check.requested_at).strftime("%m/%d/%Y %H:%M") if r.check else "",
             r.check.message if r.check else ""] for r in rows))
    return render(request, "insurance/eligibility/day.html", {
        "day": day, "rows": rows, "run": selectors.eligibility_run_latest(user=request.user, day=day),
        "can_check": request.user.has_perm_code(Perm.ELIGIBILITY_CHECK)})


def _progress(request: HttpRequest) -> HttpResponse:
    """The progress line alone, polled by the page while the run goes on; once it ends the whole page is reloaded,
    with the answers."""
    try:
        day = _day(request.GET.get("day"))
    except ValidationError:
        return HttpResponse(status=400)
    run = selectors.eligibility_run_latest(user=request.user, day=day)
    if run is not None and not run.is_running and request.GET.get("running"):
        response = HttpResponse()
        response["HX-Refresh"] = "true"
        return response
    return render(request, "insurance/eligibility/_progress.html", {"day": day, "run": run})


@require_POST
@requires(Perm.ELIGIBILITY_CHECK)
def eligibility_check_now(request: HttpRequest) -> HttpResponse:
    try:
        coverage = selectors.coverage_for_check(user=request.user, coverage_id=request.POST.get("coverage", ""))
        day = _day(request.POST.get("day"))
    except (Coverage.DoesNotExist, ValidationError):
        raise Http404("No such coverage.") from None
    appointment = None
    if request.POST.get("appointment"):
        from clinicdesk.scheduling.models import Appointment

        appointment = Appointment.objects.filter(organization_id=request.user.organization_id,
                                                 patient_id=coverage.patient_id,
                                                 public_id=request.POST["appointment"]).first()
    check = eligibility_check(coverage=coverage, service_date=day, actor=request.user, appointment=appointment)
    text = f"{coverage.patient}: {check.get_status_display()}" + (f" — {check.message}" if check.message else "")
    (messages.success if check.status == "active" else messages.warning)(request, text)
    if request.POST.get("next") == "detail":
        return redirect("insurance:eligibility_detail", check_id=check.pk)
    return redirect(f"{reverse('insurance:eligibility_day')}?day={day.isoformat()}")


@require_POST
@requires(Perm.ELIGIBILITY_CHECK)
def eligibility_run(request: HttpRequest) -> HttpResponse:
    try:
        day = _day(request.POST.get("day"))
    except ValidationError:
        raise Http404("No such day.") from None
    from ..tasks import eligibility_check_day_task

    run = eligibility_run_start(organization=request.user.organization, day=day, actor=request.user)
    eligibility_check_day_task.enqueue(organization_id=request.user.organization_id, day=day.isoformat(),
                                       actor_id=request.user.pk, run_id=run.pk)
    messages.info(request, f"Checking every appointment of {day:%m/%d/%Y}; this page shows the progress.")
    return redirect(f"{reverse('insurance:eligibility_day')}?day={day.isoformat()}")


@require_GET
@requires(Perm.COVERAGE_VIEW)
def eligibility_detail(request: HttpRequest, check_id: int) -> HttpResponse:
    try:
        check = selectors.eligibility_check_get(user=request.user, check_id=check_id)
    except EligibilityCheck.DoesNotExist:
        raise Http404("No such check.") from None
    audit_event(action="eligibility.viewed", actor=request.user, target=check, patient=check.coverage.patient,
                summary=f"Eligibility answer of {check.service_date:%m/%d/%Y}")
    benefits = check.benefits or {}
    groups = [("Coverage", benefits.get("status", [])), ("Copays", benefits.get("copays", [])),
              ("Coinsurance", benefits.get("coinsurance", [])), ("Deductibles", benefits.get("deductibles", [])),
              ("Out of pocket", benefits.get("out_of_pocket", []))]
    return render(request, "insurance/eligibility/detail.html", {
        "check": check, "groups": [(label, rows) for label, rows in groups if rows],
        "messages_271": benefits.get("messages", []),
        "can_check": request.user.has_perm_code(Perm.ELIGIBILITY_CHECK)})
