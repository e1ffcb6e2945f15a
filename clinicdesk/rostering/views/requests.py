"""A person's own roster pages (their shifts, their calendar link, their requests) and the manager's decisions on
time off, give-aways and swaps; plus the public calendar feed a calendar app fetches with the secret address."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import public, requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from .. import selectors
from ..forms import ChangeForm, DecisionForm, TimeOffForm, add_service_errors
from ..models import ShiftChangeRequest, TimeOffRequest
from ..services import feeds
from ..services import requests as request_services

MY_DAYS_AHEAD = 90


@require_GET
@requires(Perm.ROSTER_REQUEST)
def my_shifts(request: HttpRequest) -> HttpResponse:
    member = selectors.my_staff_member(user=request.user)
    today = timezone.localdate()
    shifts = selectors.my_shifts(user=request.user, start=today - timedelta(days=7), end=today + timedelta(days=MY_DAYS_AHEAD))
    feed = feeds.feed_for(staff=member) if member else None
    return render(request, "rostering/my_shifts.html", {
        "member": member, "shifts": shifts, "feed_url": feeds.feed_url(feed) if feed else "",
        "time_off": selectors.time_off_for(user=request.user, mine_only=True)[:50],
        "changes": selectors.changes_for(user=request.user, mine_only=True)[:50],
    })


@require_POST
@requires(Perm.ROSTER_REQUEST)
def feed_rotate(request: HttpRequest) -> HttpResponse:
    member = selectors.my_staff_member(user=request.user)
    if member is None:
        raise Http404("No staff record for this account.")
    feeds.feed_rotate(actor=request.user, staff=member)
    messages.success(request, "A new calendar address was made; the old one no longer works.")
    return redirect("rostering:my_shifts")


@require_http_methods(["GET", "POST"])
@requires(Perm.ROSTER_REQUEST)
def time_off_new(request: HttpRequest) -> HttpResponse:
    member = selectors.my_staff_member(user=request.user)
    form = TimeOffForm(request.POST or None)
    status = 200
    if member is None:
        status = 400 if request.method == "POST" else 200
    elif request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                request_services.time_off_request_create(actor=request.user, staff=member, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Time off requested; the office manager will decide.")
                return redirect("rostering:my_shifts")
    return render(request, "rostering/request_form.html", {"form": form, "title": "Ask for time off", "member": member},
                  status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.ROSTER_REQUEST)
def change_new(request: HttpRequest) -> HttpResponse:
    member = selectors.my_staff_member(user=request.user)
    form = ChangeForm(request.POST or None, organization_id=request.user.organization_id,
                      department_id=member.department_id if member else None, exclude_id=member.pk if member else None)
    status = 200
    if member is None:
        status = 400 if request.method == "POST" else 200
    elif request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                request_services.change_offer(actor=request.user, requester=member, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Request sent to {data['colleague']}.")
                return redirect("rostering:my_shifts")
    return render(request, "rostering/request_form.html", {"form": form, "title": "Give away or swap a shift",
                                                            "member": member}, status=status)


def _change(request: HttpRequest, change_id: int) -> ShiftChangeRequest:
    change = ShiftChangeRequest.objects.filter(pk=change_id, organization_id=request.user.organization_id).first()
    if change is None:
        raise Http404("No such request.")
    return change


def _change_step(request: HttpRequest, change_id: int, step, done: str) -> HttpResponse:
    """Run one step of a give-away or swap (accept, withdraw) and go back where the person came from."""
    try:
        step(actor=request.user, change=_change(request, change_id))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    if request.user.has_perm_code(Perm.ROSTER_MANAGE) and request.POST.get("next") == "requests":
        return redirect("rostering:requests")
    return redirect("rostering:my_shifts")


@require_POST
@requires(Perm.ROSTER_REQUEST)
def change_accept(request: HttpRequest, change_id: int) -> HttpResponse:
    return _change_step(request, change_id, request_services.change_accept, "Accepted; the office manager will decide.")


@require_POST
@requires(Perm.ROSTER_REQUEST)
def change_cancel(request: HttpRequest, change_id: int) -> HttpResponse:
    return _change_step(request, change_id, request_services.change_cancel, "Request withdrawn.")


@require_GET
@requires(Perm.ROSTER_MANAGE)
def requests_list(request: HttpRequest) -> HttpResponse:
    time_off = selectors.time_off_for(user=request.user, mine_only=False)
    changes = selectors.changes_for(user=request.user, mine_only=False)
    if request.GET.get("format") == "csv":
        return csv_response("time-off-requests.csv", ["id", "staff", "first day", "last day", "reason", "status", "decided by"],
                            ([r.pk, r.staff.full_name, r.start, r.end, r.reason, r.get_status_display(),
                              r.decided_by or ""] for r in time_off))
    return render(request, "rostering/requests.html", {"time_off": time_off[:300], "changes": changes[:200],
                                                        "decision_form": DecisionForm()})


def _decide(request: HttpRequest, decide, label: str) -> HttpResponse:
    """Approve or refuse from the requests page; a refused approval comes back naming the request and why."""
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Decision: choose approve or refuse.")
        return redirect("rostering:requests")
    try:
        decide(approve=form.cleaned_data["decision"] == "approve", note=form.cleaned_data["note"])
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{label}: {message}")
    else:
        messages.success(request, f"{label} {form.cleaned_data['decision']}d.")
    return redirect("rostering:requests")


@require_POST
@requires(Perm.ROSTER_MANAGE)
def time_off_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    time_off = TimeOffRequest.objects.filter(pk=request_id, organization_id=request.user.organization_id).first()
    if time_off is None:
        raise Http404("No such request.")
    return _decide(request, partial(request_services.time_off_decide, actor=request.user, request=time_off),
                   f"Time off of {time_off.staff} ({time_off.start} to {time_off.end})")


@require_POST
@requires(Perm.ROSTER_MANAGE)
def change_decide(request: HttpRequest, change_id: int) -> HttpResponse:
    change = _change(request, change_id)
    return _decide(request, partial(request_services.change_decide, actor=request.user, change=change),
                   f"{change.get_kind_display()} of {change.requester} on {change.day}")


@public
@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The calendar a calendar app subscribes to; the secret address is the only key."""
    found = feeds.feed_by_token(token=token)
    if found is None:
        raise Http404("No such calendar.")
    response = HttpResponse(feeds.feed_fetch(feed=found), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=900"
    return response
