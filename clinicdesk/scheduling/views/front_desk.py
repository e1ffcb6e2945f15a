"""The front desk's queues: the call log and the callback queue, the waitlist with its offers, and
recalls with their rules. Views parse, check permission, call one service or selector, and render."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import public, requires
from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.middleware import client_ip
from clinicdesk.core.paging import page_of
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient
from clinicdesk.patients.pick import PickPage, patient_pick_step
from clinicdesk.patients.selectors.records import patient_for_change
from clinicdesk.patients.views import PatientTab, register_patient_tab

from .. import throttle
from ..choices import OfferReply, OfferStatus
from ..front_desk_forms import (
    CallbackDoneForm,
    CallFilterForm,
    NoteForm,
    PhoneCallForm,
    RecallFilterForm,
    RecallRuleForm,
    WaitlistEntryForm,
    WaitlistFilterForm,
)
from ..selectors import front_desk as selectors
from ..services import calls as call_services
from ..services import recalls as recall_services
from ..services import waitlist as waitlist_services

WEEKDAY_NAMES = {0: "Mon", 1: "Tue", 2: "Wed", 3: "Thu", 4: "Fri", 5: "Sat", 6: "Sun"}
EXPORT_MAX_ROWS = 10_000


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _carry_out(request: HttpRequest, act: Callable[[], Any], done: Callable[[Any], str]) -> None:
    """Run the one service call behind a button; its refusal, or what it did, becomes the page's message."""
    try:
        result = act()
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, done(result))


def _audit_patients_exported(request: HttpRequest, patients: Iterable[Patient], what: str) -> None:
    unique = {p.pk: p for p in patients if p is not None}
    audit_events(action="patient.exported", actor=request.user, targets=list(unique.values()),
                 channel=AuditChannel.EXPORT, summary=f"Included in a {what} CSV")


def _with_default_status(request: HttpRequest):
    """The filters as given, with 'open' as the status when none was chosen ('' is an explicit 'all')."""
    data = request.GET.copy()
    data.setdefault("status", "open")
    return data


def _local(moment, tz_name: str):
    return timezone.localtime(moment, zoneinfo.ZoneInfo(tz_name)) if moment else None


# --- the patient page's Calls tab -------------------------------------------------------------------------


def _calls_tab(request: HttpRequest, patient: Patient) -> dict:
    return {"calls": selectors.patient_calls(actor=request.user, patient=patient), "has_content": True}


def register_patient_tabs() -> None:
    """Called from SchedulingConfig.ready: the patient page gets a Calls tab."""
    register_patient_tab(PatientTab("calls", "Calls", "scheduling/calls_tab.html", _calls_tab, Perm.CALLS, order=65))


# --- calls -----------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.CALLS)
def call_list(request: HttpRequest) -> HttpResponse:
    form = CallFilterForm(request.GET or None)
    rows = selectors.call_scope(actor=request.user).none()
    status = 200
    if not form.is_bound or form.is_valid():
        try:
            rows = selectors.phone_call_list(actor=request.user, **(form.cleaned_data if form.is_bound else {}))
        except ValidationError as exc:
            _form_errors(form, exc)
            status = 400
    else:
        status = 400
    page, query = page_of(request, rows)
    return render(request, "scheduling/calls.html", {
        "form": form, "page": page, "query": query, "counts": selectors.callback_counts(actor=request.user),
    }, status=status)


@require_GET
@requires(Perm.CALLS)
def call_export(request: HttpRequest) -> HttpResponse:
    """The call log as filtered, as CSV; every patient in it gets an 'exported' audit row."""
    form = CallFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "scheduling/calls.html", {"form": form, "page": None}, status=400)
    try:
        calls = list(selectors.phone_call_list(actor=request.user, **form.cleaned_data)[: EXPORT_MAX_ROWS + 1])
    except ValidationError as exc:
        _form_errors(form, exc)
        return render(request, "scheduling/calls.html", {"form": form, "page": None}, status=400)
    if len(calls) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} calls; narrow the dates before exporting.")
        return redirect(f"{reverse('scheduling:calls')}?{request.GET.urlencode()}")
    filters = {k: str(v) for k, v in form.cleaned_data.items() if v}
    audit_event(action="calls.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Exported {len(calls)} call(s) with {filters or 'no filters'}"[:300])
    _audit_patients_exported(request, (c.patient for c in calls), "call log")
    header = ["time", "direction", "patient", "MRN", "caller", "phone", "reason", "outcome", "notes",
              "callback needed", "callback due", "callback done", "assigned to", "taken by"]
    rows = (
        [_local(c.created_at, timezone.get_current_timezone_name()).isoformat(timespec="minutes"), c.get_direction_display(),
         c.patient.display_name if c.patient else "", c.patient.mrn if c.patient else "", c.caller_name, c.phone,
         c.get_reason_display(), c.get_outcome_display(), c.notes, "yes" if c.callback_needed else "no",
         timezone.localtime(c.callback_due).isoformat(timespec="minutes") if c.callback_due else "",
         timezone.localtime(c.callback_done_at).isoformat(timespec="minutes") if c.callback_done_at else "",
         str(c.assigned_to or ""), str(c.taken_by or "")]
        for c in calls
    )
    return csv_response("calls.csv", header, rows)


@require_http_methods(["GET", "POST"])
@requires(Perm.CALLS)
def call_log(request: HttpRequest) -> HttpResponse:
    """Log a call: from the patient page (patient fixed) or from the calls page (find the patient as you type)."""
    patient = None
    public_id = request.GET.get("patient", "")
    if public_id:
        patient = patient_for_change(actor=request.user, public_id=public_id)
    form = PhoneCallForm(request.POST or None, actor=request.user, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            call = call_services.phone_call_log(actor=request.user, **form.service_values())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            done = "Call logged."
            if call.callback_needed:
                done += f" Callback due {timezone.localtime(call.callback_due):%a %d %b %H:%M}."
            messages.success(request, done)
            if call.patient is not None and patient is not None:
                return redirect(f"{reverse('patients:detail', kwargs={'public_id': patient.public_id})}?tab=calls")
            return redirect("scheduling:callbacks" if call.callback_needed else "scheduling:calls")
    return render(request, "scheduling/calls_log.html", {
        "form": form, "patient": patient, "matches": form.matches,
    }, status=400 if form.is_bound and form.errors else 200)


@require_GET
@requires(Perm.CALLS)
def callback_queue(request: HttpRequest) -> HttpResponse:
    """Open callbacks, overdue first; mine or everyone's."""
    mine = request.GET.get("mine") == "1"
    page, query = page_of(request, selectors.callback_queue(actor=request.user, mine=mine))
    return render(request, "scheduling/calls_callbacks.html", {
        "page": page, "query": query, "mine": mine, "now": timezone.now(),
        "counts": selectors.callback_counts(actor=request.user), "done_form": CallbackDoneForm(),
    })


def _back_to_queue(request: HttpRequest) -> HttpResponse:
    mine = request.POST.get("mine") == "1"
    return redirect(f"{reverse('scheduling:callbacks')}{'?mine=1' if mine else ''}")


@require_POST
@requires(Perm.CALLS)
def callback_done(request: HttpRequest, call_id: int) -> HttpResponse:
    call = selectors.phone_call_get(actor=request.user, call_id=call_id)
    form = CallbackDoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Check the outcome and the note.")
        return _back_to_queue(request)
    _carry_out(request, lambda: call_services.phone_call_callback_done(actor=request.user, call=call, **form.cleaned_data),
               lambda _: f"Callback to {call.patient or call.caller_name or call.phone} done.")
    return _back_to_queue(request)


@require_POST
@requires(Perm.CALLS)
def callback_take(request: HttpRequest, call_id: int) -> HttpResponse:
    call = selectors.phone_call_get(actor=request.user, call_id=call_id)
    _carry_out(request, lambda: call_services.phone_call_assign(actor=request.user, call=call, assigned_to=request.user),
               lambda _: "The callback is yours.")
    return _back_to_queue(request)


# --- waitlist ------------------------------------------------------------------------------------------------


def _with_local_times(offers) -> list:
    offers = list(offers)
    for offer in offers:
        offer.local_starts_at = _local(offer.starts_at, offer.location.time_zone)
        offer.local_expires_at = _local(offer.expires_at, offer.location.time_zone)
    return offers


@require_GET
@requires(Perm.WAITLIST)
def waitlist(request: HttpRequest) -> HttpResponse:
    """Offers waiting for an answer (book with one click), then the waitlist in the order offers go out."""
    form = WaitlistFilterForm(_with_default_status(request), actor=request.user)
    entries = selectors.waitlist_scope(actor=request.user).none()
    status = 200
    if not form.is_valid():
        status = 400
    else:
        kind = form.cleaned_data.get("appointment_type")
        entries = selectors.waitlist_list(actor=request.user, status=form.cleaned_data["status"],
                                          appointment_type_id=kind.pk if kind else None)
    page, query = page_of(request, entries)
    for entry in page:
        _with_local_times(entry.pending_offers)
        entry.weekday_names = ", ".join(WEEKDAY_NAMES[d] for d in entry.weekdays if d in WEEKDAY_NAMES)
    return render(request, "scheduling/waitlist.html", {
        "form": form, "page": page, "query": query,
        "offers": _with_local_times(selectors.offer_list(actor=request.user)),
        "can_book": request.user.has_perm_code(Perm.SCHEDULE_BOOK),
    }, status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.WAITLIST)
def waitlist_add(request: HttpRequest) -> HttpResponse:
    """Put a patient on the waitlist: find the patient (unless coming from their page), then the constraints."""
    public_id = request.GET.get("patient", "")
    if not public_id:
        return patient_pick_step(request, PickPage(
            title="Add a patient to the waitlist", action=reverse("scheduling:waitlist_add"),
            back_url=reverse("scheduling:waitlist"), back_label="Waitlist"))
    patient = patient_for_change(actor=request.user, public_id=public_id)
    form = WaitlistEntryForm(request.POST or None, actor=request.user, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            waitlist_services.waitlist_entry_add(actor=request.user, patient=patient, **form.service_values())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{patient.display_name} is on the waitlist.")
            return redirect("scheduling:waitlist")
    return render(request, "scheduling/waitlist_add.html", {"form": form, "patient": patient},
                  status=400 if form.is_bound and form.errors else 200)


@require_POST
@requires(Perm.WAITLIST)
def waitlist_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = selectors.waitlist_entry_get(actor=request.user, entry_id=entry_id)
    form = NoteForm(request.POST)
    notes = form.cleaned_data["notes"] if form.is_valid() else ""
    _carry_out(request, lambda: waitlist_services.waitlist_entry_remove(actor=request.user, entry=entry, notes=notes),
               lambda _: f"{entry.patient.display_name} is off the waitlist.")
    return redirect("scheduling:waitlist")


@require_POST
@requires(Perm.WAITLIST, Perm.SCHEDULE_BOOK)
def waitlist_offer_book(request: HttpRequest, offer_id: int) -> HttpResponse:
    """One click: book the offered time for the patient (and cancel the later visit it replaces)."""
    offer = selectors.waitlist_offer_get(actor=request.user, offer_id=offer_id)
    _carry_out(request, lambda: waitlist_services.waitlist_offer_book(actor=request.user, offer=offer),
               lambda booked: f"Booked {booked.entry.patient.display_name} on "
                              f"{_local(booked.starts_at, booked.location.time_zone):%a %d %b %H:%M} with {booked.provider}.")
    return redirect("scheduling:waitlist")


@require_POST
@requires(Perm.WAITLIST)
def waitlist_offer_decline(request: HttpRequest, offer_id: int) -> HttpResponse:
    """The patient said no on the phone: the time goes to the next in line."""
    offer = selectors.waitlist_offer_get(actor=request.user, offer_id=offer_id)
    _carry_out(request, lambda: waitlist_services.waitlist_offer_decline(actor=request.user, offer=offer),
               lambda reply: "Offer declined; the time goes to the next in line." if reply == OfferReply.DECLINED
               else reply.label)
    return redirect("scheduling:waitlist")


# --- recalls ---------------------------------------------------------------------------------------------


def _recall_filters(request: HttpRequest) -> tuple[RecallFilterForm, dict | None]:
    form = RecallFilterForm(_with_default_status(request), rules=selectors.recall_rule_list(actor=request.user))
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    rule = data.get("rule")
    return form, {"status": data["status"],
                  "when": data.get("when", ""), "rule_id": rule.pk if rule else None}


@require_GET
@requires(Perm.RECALLS)
def recall_list(request: HttpRequest) -> HttpResponse:
    """Patients due back, the longest overdue first, with filters and the CSV for mailings."""
    form, filters = _recall_filters(request)
    rows = selectors.recall_scope(actor=request.user).none()
    status = 400
    if filters is not None:
        try:
            rows = selectors.recall_list(actor=request.user, **filters)
            status = 200
        except ValidationError as exc:
            _form_errors(form, exc)
    page, query = page_of(request, rows)
    return render(request, "scheduling/recalls.html", {
        "form": form, "page": page, "query": query, "today": timezone.localdate(),
        "can_manage_rules": request.user.has_perm_code(Perm.SCHEDULE_MANAGE),
    }, status=status)


@require_GET
@requires(Perm.RECALLS)
def recall_export(request: HttpRequest) -> HttpResponse:
    form, filters = _recall_filters(request)
    if filters is None:
        return render(request, "scheduling/recalls.html", {"form": form, "page": None}, status=400)
    try:
        recalls = list(selectors.recall_list(actor=request.user, **filters)[: EXPORT_MAX_ROWS + 1])
    except ValidationError as exc:
        _form_errors(form, exc)
        return render(request, "scheduling/recalls.html", {"form": form, "page": None}, status=400)
    if len(recalls) > EXPORT_MAX_ROWS:
        messages.error(request, f"That is more than {EXPORT_MAX_ROWS:,} recalls; narrow the list before exporting.")
        return redirect(f"{reverse('scheduling:recalls')}?{request.GET.urlencode()}")
    audit_event(action="recalls.exported", actor=request.user, channel=AuditChannel.EXPORT,
                summary=f"Exported {len(recalls)} recall(s) with {({k: v for k, v in filters.items() if v}) or 'no filters'}"[:300])
    _audit_patients_exported(request, (r.patient for r in recalls), "recall list")
    header = ["MRN", "last name", "first name", "date of birth", "mobile phone", "home phone", "email",
              "preferred channel", "rule", "book", "last visit", "due date", "status", "contacted", "notes"]
    rows = (
        [r.patient.mrn, r.patient.last_name, r.patient.first_name, r.patient.date_of_birth.isoformat(),
         r.patient.phone_mobile, r.patient.phone_home, r.patient.email, r.patient.preferred_channel, r.rule.name,
         r.rule.recall_type.name, r.last_visit.isoformat(), r.due_date.isoformat(), r.get_status_display(),
         timezone.localtime(r.contacted_at).date().isoformat() if r.contacted_at else "", r.notes]
        for r in recalls
    )
    return csv_response("recalls.csv", header, rows)


def _recall_action(request: HttpRequest, recall_id: int, service, done: str) -> HttpResponse:
    recall = selectors.recall_get(actor=request.user, recall_id=recall_id)
    form = NoteForm(request.POST)
    notes = form.cleaned_data["notes"] if form.is_valid() else ""
    _carry_out(request, lambda: service(actor=request.user, recall=recall, notes=notes),
               lambda _: f"{recall.patient.display_name}: {done}")
    back = request.POST.get("back", "")
    return redirect(f"{reverse('scheduling:recalls')}?{back}" if back and "//" not in back else reverse("scheduling:recalls"))


@require_POST
@requires(Perm.RECALLS)
def recall_contacted(request: HttpRequest, recall_id: int) -> HttpResponse:
    return _recall_action(request, recall_id, recall_services.recall_mark_contacted, "marked contacted.")


@require_POST
@requires(Perm.RECALLS)
def recall_dismiss(request: HttpRequest, recall_id: int) -> HttpResponse:
    return _recall_action(request, recall_id, recall_services.recall_dismiss, "recall dismissed.")


@require_POST
@requires(Perm.RECALLS)
def recalls_refresh(request: HttpRequest) -> HttpResponse:
    """Run the daily computation now (after adding a rule, say)."""
    added = recall_services.recalls_refresh(organization=request.user.organization)
    messages.success(request, f"{added} new recall{'' if added == 1 else 's'} added.")
    return redirect("scheduling:recalls")


@require_GET
@requires(Perm.RECALLS)
def recall_rules(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/recalls_rules.html", {
        "rules": selectors.recall_rule_list(actor=request.user),
        "can_manage": request.user.has_perm_code(Perm.SCHEDULE_MANAGE),
    })


@require_http_methods(["GET", "POST"])
@requires(Perm.RECALLS, Perm.SCHEDULE_MANAGE)
def recall_rule_add(request: HttpRequest) -> HttpResponse:
    form = RecallRuleForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            rule = recall_services.recall_rule_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Recall rule '{rule.name}' added. Use 'Refresh now' on the recall list to apply it at once.")
            return redirect("scheduling:recall_rules")
    return render(request, "scheduling/recalls_rule_form.html", {"form": form, "rule": None},
                  status=400 if form.is_bound and form.errors else 200)


@require_http_methods(["GET", "POST"])
@requires(Perm.RECALLS, Perm.SCHEDULE_MANAGE)
def recall_rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.recall_rule_get(actor=request.user, rule_id=rule_id)
    initial = {"name": rule.name, "after_type": rule.after_type_id, "interval_months": rule.interval_months,
               "recall_type": rule.recall_type_id, "is_active": rule.is_active}
    form = RecallRuleForm(request.POST or None, actor=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            recall_services.recall_rule_update(actor=request.user, rule=rule,
                                               **{k: form.cleaned_data[k] for k in form.changed_data})
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Recall rule '{rule.name}' saved.")
            return redirect("scheduling:recall_rules")
    return render(request, "scheduling/recalls_rule_form.html", {"form": form, "rule": rule},
                  status=400 if form.is_bound and form.errors else 200)


# --- the patient's reply link (public, no sign-in) ---------------------------------------------------------


def _no_store(response: HttpResponse) -> HttpResponse:
    # The token is in the address: never cache the page, never index it. (The site's same-origin referrer
    # policy keeps it from other sites; 'no-referrer' would make Chromium send Origin: null, which the
    # CSRF check refuses.)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _standing_answer(offer) -> OfferReply | None:
    """What an opened link says before any answer: nothing while the offer is open, else why not."""
    now = timezone.now()
    if offer.status == OfferStatus.PENDING and offer.expires_at > now and offer.starts_at > now:
        return None
    return {
        OfferStatus.ACCEPTED: OfferReply.ALREADY_BOOKED,
        OfferStatus.DECLINED: OfferReply.DECLINED,
        OfferStatus.WITHDRAWN: OfferReply.TAKEN,
    }.get(offer.status, OfferReply.EXPIRED)


@public
@require_http_methods(["GET", "POST"])
def waitlist_offer_reply(request: HttpRequest, offer_token: str) -> HttpResponse:
    """A waitlisted patient's answer to an offer, by its secret link. Shows only the time and the place
    (no name, no visit type, no provider); GET never books, so link previews cannot accept for them."""
    try:
        throttle.hit("verify_ip", client_ip(request))
    except throttle.Throttled as exc:
        response = render(request, "scheduling/waitlist_offer_reply.html", {"throttled": True}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return _no_store(response)
    offer = selectors.offer_by_token(token=offer_token)
    reply = None
    status = 200
    if request.method == "POST":
        answer = request.POST.get("answer", "")
        if answer == "yes":
            reply = waitlist_services.waitlist_offer_accept(token=offer_token)
        elif answer == "no":
            reply = waitlist_services.waitlist_offer_decline(token=offer_token)
        else:
            status = 400
        if reply is not None:
            offer = selectors.offer_by_token(token=offer_token)
    if offer is None:
        reply, status = OfferReply.UNKNOWN, 404
    elif reply is None:
        reply = _standing_answer(offer)
    context = {"reply": reply, "offer": offer if offer is not None else None, "status": status}
    if offer is not None:
        context |= {"practice": offer.location.organization.name, "location": offer.location,
                    "starts_at": _local(offer.starts_at, offer.location.time_zone)}
    return _no_store(render(request, "scheduling/waitlist_offer_reply.html", context, status=status))
