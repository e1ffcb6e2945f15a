"""The charge review queue, under /billing/review/: encounters the clinicians sent (and those on hold), each with
what the scrubber finds; the biller ticks several and posts their charges in one batch, holds one with a reason,
or opens it to fix."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.money import format_money
from clinicdesk.core.permissions import Perm

from ..forms_encounters import ReasonForm, ReviewFilterForm
from ..selectors import encounters as selectors
from ..services.charges import encounter_hold, encounter_problems, encounters_post

QUEUE_CSV_HEADER = ["service_date", "patient", "mrn", "provider", "location", "status", "services", "total", "flags"]


def _queue(request: HttpRequest, data):
    user = request.user
    form = ReviewFilterForm(data or None, providers=selectors.providers(user=user),
                            locations=selectors.locations(user=user))
    cleaned = form.cleaned_data if form.is_valid() else {}
    status = cleaned.get("status")
    filters = selectors.EncounterFilters(status=(status,) if status else (), date_from=cleaned.get("date_from"),
                                         date_to=cleaned.get("date_to"), provider_id=cleaned.get("provider"),
                                         location_id=cleaned.get("location"))
    rows = selectors.review_queue(user=user, filters=filters, flagged_only=bool(cleaned.get("flagged")))
    return form, rows


def _render_queue(request: HttpRequest, form, rows, *, errors=(), chosen=(), status=200) -> HttpResponse:
    audit_events(action="encounter.listed", actor=request.user, targets=[r.encounter for r in rows],
                 summary="Shown in the charge review queue")
    query = request.GET.urlencode()
    return render(request, "billing/review/queue.html", {
        "form": form, "rows": rows, "errors": errors, "chosen": set(chosen), "query": query,
        "flagged": sum(1 for r in rows if r.flagged), "total": sum((r.total for r in rows), Decimal("0")),
    }, status=status)


@require_GET
@requires(Perm.CHARGES_REVIEW)
def review_queue(request: HttpRequest) -> HttpResponse:
    form, rows = _queue(request, request.GET)
    if request.GET.get("format") == "csv":
        audit_events(action="encounter.exported", actor=request.user, targets=[r.encounter for r in rows],
                     channel=AuditChannel.EXPORT, summary="Included in the review queue CSV")
        return csv_response("charge-review.csv", QUEUE_CSV_HEADER, (
            [r.encounter.service_date.isoformat(), r.encounter.patient.display_name, r.encounter.patient.mrn,
             str(r.encounter.provider), r.encounter.location.name, r.encounter.get_status_display(),
             " ".join(str(s) for s in r.encounter.services.all()), f"{r.total:.2f}",
             "; ".join(p["message"] for p in r.problems)] for r in rows))
    return _render_queue(request, form, rows, status=400 if form.is_bound and form.errors else 200)


@require_POST
@requires(Perm.CHARGES_REVIEW)
def review_post(request: HttpRequest) -> HttpResponse:
    """Post the ticked encounters' charges in one batch; one with a problem refuses the batch, naming it."""
    chosen = [p for p in request.POST.getlist("encounter") if p][:selectors.QUEUE_LIMIT]
    encounters = selectors.encounters_by_public_id(user=request.user, public_ids=chosen)
    back = reverse("billing:review_queue") + (f"?{request.GET.urlencode()}" if request.GET else "")
    errors: list[str] = []
    if not encounters:
        errors.append("Tick the encounters to post.")
    else:
        try:
            posted = encounters_post(encounters=encounters, actor=request.user)
        except ValidationError as exc:
            errors.extend(exc.messages)
        else:
            total = sum((s.amount for e in posted for s in e.services.all()), Decimal("0"))
            messages.success(request, f"Charges posted for {len(posted)} encounter{'s' if len(posted) != 1 else ''}: "
                                      f"{format_money(total)}.")
            return redirect(back)
    form, rows = _queue(request, request.GET)
    return _render_queue(request, form, rows, errors=errors, chosen=chosen, status=400)


@require_http_methods(["GET", "POST"])
@requires(Perm.CHARGES_REVIEW)
def review_hold(request: HttpRequest, encounter_id: str) -> HttpResponse:
    """Send an encounter back to its coder with what needs fixing."""
    encounter = selectors.encounter_get(user=request.user, public_id=encounter_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            encounter_hold(encounter=encounter, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"On hold: {encounter.patient.display_name}, {encounter.service_date:%m/%d/%Y}.")
            return redirect("billing:review_queue")
    return render(request, "billing/review/hold.html", {
        "encounter": encounter, "form": form, "problems": encounter_problems(encounter)},
        status=400 if form.is_bound and form.errors else 200)
