"""Appointment pages: the appointment (audited read), move, cancel, status steps, move to the first free
time, and "find a time" (slot search, then pick the patient and book). Every write goes through the
appointment services; their field errors come back on the form, a taken time as a 409 page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Location, User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient
from clinicdesk.patients.selectors import patient_search

from ..appointment_forms import BookForm, CancelForm, MoveForm, SlotSearchForm, add_service_errors, locations_of
from ..booking_advisories import booking_advisories, provider_advisories
from ..choices import AppointmentStatus, SeriesEditScope
from ..models import Appointment
from ..selectors.availability import location_tz
from ..selectors.slots import slot_search
from ..services import series as series_services
from ..services.appointments import (
    MOVABLE,
    TRANSITIONS,
    BookingConflict,
    appointment_book,
    appointment_move,
    appointment_move_to_first_free,
    appointment_set_status,
)

SLOT_LIMIT = 40


def _appointment(request: HttpRequest, appointment_id: str) -> Appointment:
    found = (
        Appointment.objects.filter(public_id=appointment_id, organization_id=request.user.organization_id)
        .select_related("patient", "provider", "location", "appointment_type", "room", "series", "booked_by", "cancelled_by")
        .first()
    )
    if found is None:
        raise Http404("No such appointment.")
    return found


def _status_for(exc: ValidationError) -> int:
    return 409 if isinstance(exc, BookingConflict) else 400


def _local(at: datetime, location: Location) -> datetime:
    return at.astimezone(location_tz(location.time_zone))


@require_GET
@requires(Perm.SCHEDULE_VIEW)
def appointment_detail(request: HttpRequest, appointment_id: str) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    audit_event(action="appointment.viewed", actor=request.user, target=appointment, summary="Appointment page opened")
    can_book = request.user.has_perm_code(Perm.SCHEDULE_BOOK)
    next_steps = [AppointmentStatus(s) for s in sorted(TRANSITIONS.get(appointment.status, ()))] if can_book else []
    siblings = []
    if appointment.series_id:
        siblings = list(Appointment.objects.filter(series_id=appointment.series_id).order_by("starts_at").only(
            "public_id", "starts_at", "status", "location_id"
        )[:60])
    return render(request, "scheduling/appointment_detail.html", {
        "appointment": appointment, "tz": appointment.location.time_zone,
        "starts_local": _local(appointment.starts_at, appointment.location),
        "ends_local": _local(appointment.ends_at, appointment.location),
        "can_book": can_book, "can_move": can_book and appointment.status in MOVABLE,
        "can_cancel": can_book and appointment.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED,
                                                          AppointmentStatus.ARRIVED),
        "next_steps": next_steps, "siblings": siblings,
        "can_code": request.user.has_perm_code(Perm.CHARGES_ENTER) and appointment.status in (
            AppointmentStatus.ARRIVED, AppointmentStatus.ROOMED, AppointmentStatus.WITH_PROVIDER,
            AppointmentStatus.COMPLETED),  # billing's "Code this visit"
    })  # fmt: skip


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def appointment_edit(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """Move the appointment: another day, time, length, provider or room (a series: this, following or all)."""
    appointment = _appointment(request, appointment_id)
    can_override = request.user.has_perm_code(Perm.SCHEDULE_MANAGE)
    form = MoveForm(request.POST or None, appointment=appointment, can_override=can_override)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        starts_at = form.starts_at()
        try:
            scope = data.get("scope") or SeriesEditScope.THIS
            if data.get("override") and scope == SeriesEditScope.THIS:
                appointment_move(actor=request.user, appointment=appointment, starts_at=starts_at,
                                 ends_at=starts_at + timedelta(minutes=data["duration_minutes"]), provider=data["provider"],
                                 room=data.get("room"), enforce_availability=False)
            else:
                series_services.series_move(
                    actor=request.user, appointment=appointment, scope=scope, starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=data["duration_minutes"]), provider=data["provider"],
                    room=data.get("room"),
                )
        except ValidationError as exc:
            add_service_errors(form, exc, {"starts_at": "time", "ends_at": "duration_minutes", "occurrences": None})
            status = _status_for(exc)
        else:
            messages.success(request, "Appointment moved.")
            return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    elif request.method == "POST":
        status = 400
    return render(request, "scheduling/appointment_form.html", {
        "appointment": appointment, "form": form, "title": "Move appointment", "submit": "Move",
    }, status=status)  # fmt: skip


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def appointment_cancel_view(request: HttpRequest, appointment_id: str) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    form = CancelForm(request.POST or None, appointment=appointment)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            cancelled = series_services.series_cancel(
                actor=request.user, appointment=appointment, scope=form.cleaned_data.get("scope") or SeriesEditScope.THIS,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            late = any(a.late_cancel for a in cancelled)
            messages.success(request, f"{len(cancelled)} appointment{'s' if len(cancelled) != 1 else ''} cancelled"
                                      f"{' (late cancellation)' if late else ''}.")
            return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    elif request.method == "POST":
        status = 400
    return render(request, "scheduling/appointment_form.html", {
        "appointment": appointment, "form": form, "title": "Cancel appointment", "submit": "Cancel appointment",
        "danger": True,
    }, status=status)  # fmt: skip


@require_POST
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def appointment_status(request: HttpRequest, appointment_id: str) -> HttpResponse:
    appointment = _appointment(request, appointment_id)
    try:
        appointment_set_status(actor=request.user, appointment=appointment, status=request.POST.get("status", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Now {AppointmentStatus(request.POST['status']).label.lower()}.")
    return redirect("scheduling:appointment", appointment_id=appointment.public_id)


@require_POST
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK)
def appointment_first_free(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """Move to the first free time of the same type at the same location, with any provider."""
    appointment = _appointment(request, appointment_id)
    try:
        moved = appointment_move_to_first_free(actor=request.user, appointment=appointment,
                                               any_provider=request.POST.get("same_provider") != "1")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"{appointment.patient}: {message}")
    else:
        local = _local(moved.starts_at, moved.location)
        messages.success(request, f"{moved.patient} moved to {local:%a %b %-d %H:%M} with {moved.provider}.")
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("scheduling:appointment", appointment_id=appointment.public_id)


# --- find a time and book -----------------------------------------------------------------------------------


@require_GET
@requires(Perm.SCHEDULE_VIEW)
def find_slot(request: HttpRequest) -> HttpResponse:
    """Slot search: type, provider or any, location or any, mornings/afternoons; then pick a time to book."""
    actor = request.user
    form = SlotSearchForm(request.GET or None, organization_id=actor.organization_id)
    slots, status = [], 200
    if request.GET and form.is_valid():
        data = form.cleaned_data
        day = data.get("date_from") or timezone.localdate()
        where = data.get("location") or locations_of(actor.organization_id).first()
        zone = where.time_zone if where is not None else "UTC"
        start = max(datetime.combine(day, time(0), tzinfo=location_tz(zone)), timezone.now())
        end = datetime.combine(day + timedelta(days=data.get("days") or 14), time(0), tzinfo=location_tz(zone))
        try:
            found = slot_search(
                actor=actor, appointment_type=data["appointment_type"], start=start, end=end,
                provider_ids=[data["provider"].pk] if data.get("provider") else None, location=data.get("location"),
                time_of_day=data.get("time_of_day") or "any", limit=SLOT_LIMIT,
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"end": "days"})
            found, status = [], 400
        providers = User.objects.in_bulk({s.provider_id for s in found})
        locations = Location.objects.in_bulk({s.location_id for s in found})
        for s in found:
            loc = locations[s.location_id]
            slots.append({"slot": s, "provider": providers[s.provider_id], "location": loc, "local": _local(s.starts_at, loc),
                          "book_url": reverse("scheduling:book") + "?" + _slot_query(s, data["appointment_type"].pk)})
    elif request.GET:
        status = 400
    return render(request, "scheduling/find_slot.html", {"form": form, "slots": slots, "searched": bool(request.GET)},
                  status=status)


def _slot_query(slot, type_id: int) -> str:
    from urllib.parse import urlencode

    return urlencode({"appointment_type": type_id, "provider": slot.provider_id, "location": slot.location_id,
                      "starts_at": slot.starts_at.isoformat()})


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_VIEW, Perm.SCHEDULE_BOOK, Perm.PATIENT_VIEW)
def book(request: HttpRequest) -> HttpResponse:
    """Book a chosen slot: search the patient (?q=), pick them, add a note, book."""
    actor = request.user
    form = BookForm(request.POST or request.GET, organization_id=actor.organization_id)
    status = 200
    query = (request.GET.get("q") or "").strip()
    matches = list(patient_search(actor=actor, query=query, limit=10)) if len(query) >= 2 else []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = Patient.objects.filter(public_id=data["patient"], organization_id=actor.organization_id,
                                         merged_into__isnull=True).first()
        try:
            appointment = appointment_book(
                actor=actor, patient=patient, provider=data["provider"], location=data["location"],
                appointment_type=data["appointment_type"], starts_at=data["starts_at"], notes=data.get("notes", ""),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = _status_for(exc)
        else:
            messages.success(request, f"Booked {appointment.patient} at "
                                      f"{_local(appointment.starts_at, appointment.location):%a %b %-d %H:%M}.")
            for warning in provider_advisories(provider=appointment.provider,
                                               on=_local(appointment.starts_at, appointment.location).date()):
                messages.warning(request, warning)
            return redirect("scheduling:appointment", appointment_id=appointment.public_id)
    elif request.method == "POST":
        status = 400
    slot = None
    if form.is_bound and all(form[f].value() for f in ("appointment_type", "provider", "location", "starts_at")):
        slot = {k: form[k].value() for k in ("appointment_type", "provider", "location", "starts_at")}
        try:
            slot["local"] = datetime.fromisoformat(str(slot["starts_at"]))
        except ValueError:
            slot = None
    slot_type = (form.fields["appointment_type"].queryset.filter(pk=slot["appointment_type"]).first()
                 if slot and str(slot["appointment_type"]).isdigit() else None)
    if slot_type is not None:
        _advise(matches, slot_type, slot, form.fields["location"].queryset)
    slot_provider = (form.fields["provider"].queryset.filter(pk=slot["provider"]).first()
                     if slot and str(slot["provider"]).isdigit() else None)
    return render(request, "scheduling/book.html", {
        "form": form, "matches": matches, "query": query, "slot": slot, "posted": request.method == "POST",
        "slot_type": slot_type, "slot_provider": slot_provider,
        "provider_warnings": provider_advisories(provider=slot_provider, on=slot["local"].date()) if slot_provider else [],
    }, status=status)  # fmt: skip


def _advise(patients: list[Patient], appointment_type, slot: dict, locations) -> None:
    """Give each patient offered for the slot the registered booking advisories' warnings (they never block)."""
    location = locations.filter(pk=slot["location"]).first() if str(slot["location"]).isdigit() else None
    at = slot["local"]
    on = (_local(at, location) if location is not None and at.tzinfo is not None else at).date()
    for patient in patients:
        patient.booking_warnings = booking_advisories(patient=patient, appointment_type=appointment_type, on=on)
