"""The flow board (today's patients by where they are in their visit), check-in and check-out.

Check-in is one click on the board when the patient's details have not changed; the check-in page shows the
demographics (with a link to correct them) and the coverage on file first. Check-out books the follow-up
from the next free slots. Every change of status goes through `appointment_set_status`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.models import Patient
from clinicdesk.patients.selectors.records import patient_get

from ..choices import AppointmentStatus, BookingChannel, TimeOfDay
from ..models import Appointment, AppointmentType
from ..selectors.calendar import (
    calendar_appointment,
    calendar_appointment_types,
    calendar_location,
    calendar_locations,
    calendar_providers,
    location_time_zone,
)
from ..selectors.flow import NEXT_STEPS
from ..selectors.flow import flow_board as flow_board_query
from ..selectors.slots import slot_search
from ..services.appointments import BookingConflict, appointment_book, appointment_set_status
from .calendar import calendar_url, parse_ids, parse_when

# The statuses the board may set; the booking service decides which moves are allowed from where.
BOARD_STATUSES = (
    AppointmentStatus.ARRIVED,
    AppointmentStatus.ROOMED,
    AppointmentStatus.WITH_PROVIDER,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)
POLL_SECONDS = 30
# Statuses a check-out completes (the visit is over when the patient leaves the desk).
COMPLETED_AT_CHECK_OUT = (AppointmentStatus.WITH_PROVIDER,)
FOLLOW_UP_SLOTS = 8
FOLLOW_UP_WINDOW_DAYS = 28


# --- what the check-in page shows besides demographics: other apps add panels ------------------------------


@dataclass(frozen=True)
class CheckInPanel:
    """A panel of the check-in page. `context(request, patient, appointment)` returns what `template` needs.

    Scheduling shows a 'Coverage' placeholder; the insurance app replaces it (same key) with the coverage on
    file and the copay due, from its AppConfig.ready.
    """

    key: str
    label: str
    template: str
    context: Callable[[HttpRequest, Patient, Appointment], dict] | None = None
    order: int = 100


CHECK_IN_PANELS: dict[str, CheckInPanel] = {}


def register_check_in_panel(panel: CheckInPanel) -> None:
    """Add or replace a panel of the check-in page."""
    CHECK_IN_PANELS[panel.key] = panel


register_check_in_panel(CheckInPanel("coverage", "Coverage", "scheduling/partials/check_in_coverage.html", order=20))


def _panels(request: HttpRequest, patient: Patient, appointment: Appointment) -> list[dict]:
    panels = sorted(CHECK_IN_PANELS.values(), key=lambda p: (p.order, p.label))
    return [
        {"panel": p, "context": (p.context(request, patient, appointment) if p.context else {})} for p in panels
    ]


# --- the board ---------------------------------------------------------------------------------------------


def _board_context(request: HttpRequest, location, provider_ids) -> dict:
    board = flow_board_query(actor=request.user, location=location, provider_ids=provider_ids)
    tz = location_time_zone(location)
    return {
        "board": board,
        "location": location,
        "time_zone": str(tz),
        "can_book": request.user.has_perm_code(Perm.SCHEDULE_BOOK),
        "can_check_in": request.user.has_perm_code(Perm.SCHEDULE_BOOK) and request.user.has_perm_code(Perm.PATIENT_VIEW),
        "can_code": request.user.has_perm_code(Perm.CHARGES_ENTER),  # billing's "Code this visit"
        "poll_seconds": POLL_SECONDS,
        "board_query": f"location={location.pk}" + "".join(f"&provider={p}" for p in (provider_ids or [])),
        "calendar_link": calendar_url(location=location, day=board.day),
    }


@require_GET
@requires(Perm.SCHEDULE_VIEW)
def flow_board(request: HttpRequest) -> HttpResponse:
    """Today's board for ?location (and ?provider). htmx polls the same URL for the board alone every 30 s."""
    actor = request.user
    locations = calendar_locations(actor=actor)
    if not locations:
        return render(request, "scheduling/flow_board.html", {"locations": []})
    status, problems = 200, []
    try:
        location = calendar_location(actor=actor, location_id=request.GET.get("location"))
    except ValidationError as exc:
        location, status = locations[0], 400
        problems += exc.messages
    try:
        provider_ids = parse_ids(request.GET.getlist("provider"), name="provider")
    except ValidationError as exc:
        provider_ids, status = None, 400
        problems += exc.messages
    context = _board_context(request, location, provider_ids)
    if request.headers.get("HX-Request") and request.GET.get("partial") == "board":
        return render(request, "scheduling/partials/flow_board_columns.html", context, status=status)
    context.update({"locations": locations, "problems": problems, "providers": calendar_providers(actor=actor, location=location),
                    "chosen_ids": set(provider_ids or [])})
    return render(request, "scheduling/flow_board.html", context, status=status)


def _board_redirect(appointment: Appointment) -> HttpResponse:
    return redirect(f"{reverse('scheduling:flow_board')}?location={appointment.location_id}")


def _patient_name(appointment: Appointment) -> str:
    return f"{appointment.patient.first_name} {appointment.patient.last_name}"


@require_POST
@requires(Perm.SCHEDULE_BOOK)
def flow_status(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """A button on the board: ?status is arrived (one-click check-in), roomed, with_provider, completed or no_show.
    From htmx the board comes back re-drawn (with the message); otherwise the browser returns to the board."""
    appointment = calendar_appointment(actor=request.user, public_id=appointment_id)
    wanted = request.POST.get("status", "")
    status_code = 200
    try:
        if wanted not in BOARD_STATUSES:
            raise ValidationError({"status": "Choose one of the board's buttons."})
        appointment = appointment_set_status(actor=request.user, appointment=appointment, status=wanted)
    except ValidationError as exc:
        problem = " ".join(exc.messages)
        status_code = 409 if isinstance(exc, BookingConflict) else 400
        notice = ("error", f"{_patient_name(appointment)}: {problem}")
    else:
        label = AppointmentStatus(appointment.status).label
        verb = "checked in" if wanted == AppointmentStatus.ARRIVED else f"now {label.lower()}"
        notice = ("success", f"{_patient_name(appointment)} {verb}.")
    if request.headers.get("HX-Request"):
        context = _board_context(request, appointment.location, None)
        context["notice"] = notice
        return render(request, "scheduling/partials/flow_board_columns.html", context, status=status_code)
    (messages.error if notice[0] == "error" else messages.success)(request, notice[1])
    return _board_redirect(appointment)


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_BOOK, Perm.PATIENT_VIEW)
def check_in(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """Confirm the patient's details and the coverage on file, then mark them arrived."""
    appointment = calendar_appointment(actor=request.user, public_id=appointment_id)
    error = ""
    if request.method == "POST":
        try:
            appointment_set_status(actor=request.user, appointment=appointment, status=AppointmentStatus.ARRIVED)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"{_patient_name(appointment)} checked in.")
            return _board_redirect(appointment)
    patient = patient_get(
        actor=request.user, public_id=appointment.patient.public_id, summary="Details confirmed at check-in"
    )
    return render(
        request,
        "scheduling/flow_board_check_in.html",
        {
            "appointment": appointment,
            "patient": patient,
            "time_zone": str(location_time_zone(appointment.location)),
            "panels": _panels(request, patient, appointment),
            "can_edit_patient": request.user.has_perm_code(Perm.PATIENT_CHANGE),
            "can_check_in": appointment.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED),
            "error": error,
            "board_link": f"{reverse('scheduling:flow_board')}?location={appointment.location_id}",
        },
        status=400 if error else 200,
    )


# --- check-out: book the follow-up -----------------------------------------------------------------------------


FOLLOW_UP_AFTER = [(7, "In 1 week"), (14, "In 2 weeks"), (28, "In 4 weeks"), (42, "In 6 weeks"), (91, "In 3 months"),
                   (182, "In 6 months"), (365, "In 1 year")]
ANY_PROVIDER = ""


class FollowUpSearchForm(forms.Form):
    """What the follow-up should be: the type, the provider (or any), how far out, and the time of day."""

    appointment_type = forms.ModelChoiceField(queryset=AppointmentType.objects.none(), label="Type of visit",
                                              error_messages={"invalid_choice": "Choose a type of visit from the list."})
    provider = forms.TypedChoiceField(choices=(), required=False, coerce=int, empty_value=None,
                                      error_messages={"invalid_choice": "Choose a provider from the list."})
    after_days = forms.TypedChoiceField(choices=FOLLOW_UP_AFTER, coerce=int, initial=28, label="When",
                                        error_messages={"invalid_choice": "Choose when from the list."})
    time_of_day = forms.ChoiceField(choices=TimeOfDay.choices, initial=TimeOfDay.ANY, label="Time of day",
                                    error_messages={"invalid_choice": "Choose a time of day from the list."})

    def __init__(self, *args, actor: User, providers: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = calendar_appointment_types(actor=actor)
        self.fields["provider"].choices = [(ANY_PROVIDER, "Any provider")] + [(p.pk, str(p)) for p in providers]


def _follow_up_slots(request: HttpRequest, appointment: Appointment, form: FollowUpSearchForm) -> list[dict]:
    data = form.cleaned_data
    tz = location_time_zone(appointment.location)
    first_day = timezone.now().astimezone(tz).date() + timedelta(days=data["after_days"])
    start = datetime.combine(first_day, time.min, tzinfo=tz)
    end = start + timedelta(days=FOLLOW_UP_WINDOW_DAYS)
    provider_ids = [data["provider"]] if data.get("provider") else None
    slots = slot_search(
        actor=request.user, appointment_type=data["appointment_type"], start=start, end=end,
        provider_ids=provider_ids, location=appointment.location, time_of_day=data["time_of_day"], limit=FOLLOW_UP_SLOTS,
    )
    names = {p.pk: str(p) for p in calendar_providers(actor=request.user, location=appointment.location)}
    return [{"slot": s, "provider_name": names.get(s.provider_id, ""), "start": s.starts_at.isoformat()} for s in slots]


class FollowUpBookForm(forms.Form):
    appointment_type = forms.ModelChoiceField(queryset=AppointmentType.objects.none(),
                                              error_messages={"invalid_choice": "Choose a type of visit from the list."})
    provider = forms.TypedChoiceField(choices=(), coerce=int, error_messages={"invalid_choice": "Choose a provider from the list."})
    start = forms.CharField(max_length=40)

    def __init__(self, *args, actor: User, providers: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = calendar_appointment_types(actor=actor)
        self.fields["provider"].choices = [(p.pk, str(p)) for p in providers]


@require_http_methods(["GET", "POST"])
@requires(Perm.SCHEDULE_BOOK, Perm.PATIENT_VIEW)
def check_out(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """Finish the visit and book the follow-up: search the next free slots, pick one; or leave without one."""
    appointment = calendar_appointment(actor=request.user, public_id=appointment_id)
    providers = calendar_providers(actor=request.user, location=appointment.location)
    tz = location_time_zone(appointment.location)
    status_code, error = 200, ""
    if request.method == "POST":
        response, error, status_code = _check_out_post(request, appointment, providers, tz)
        if response is not None:
            return response
    search_data = request.GET if request.GET.get("appointment_type") else None
    form = FollowUpSearchForm(
        search_data, actor=request.user, providers=providers,
        initial={"appointment_type": appointment.appointment_type_id, "provider": appointment.provider_id},
    )
    slots = None
    if search_data is not None:
        if form.is_valid():
            try:
                slots = _follow_up_slots(request, appointment, form)
            except ValidationError as exc:
                form.add_error(None, exc)
                status_code = 400
        else:
            status_code = 400
    return render(
        request,
        "scheduling/flow_board_check_out.html",
        {
            "appointment": appointment,
            "form": form,
            "slots": slots,
            "time_zone": str(tz),
            "error": error,
            "completes_visit": appointment.status in COMPLETED_AT_CHECK_OUT,
            "board_link": f"{reverse('scheduling:flow_board')}?location={appointment.location_id}",
            "chosen_type": form.cleaned_data.get("appointment_type") if form.is_bound and form.is_valid() else None,
        },
        status=status_code,
    )


def _complete_visit(request: HttpRequest, appointment: Appointment) -> None:
    if appointment.status in COMPLETED_AT_CHECK_OUT:
        appointment_set_status(actor=request.user, appointment=appointment, status=AppointmentStatus.COMPLETED)


def _check_out_post(request, appointment, providers, tz) -> tuple[HttpResponse | None, str, int]:
    """Returns (redirect on success, error text, status code)."""
    if request.POST.get("action") == "done":
        try:
            _complete_visit(request, appointment)
        except ValidationError as exc:
            return None, " ".join(exc.messages), 400
        messages.success(request, f"{_patient_name(appointment)} checked out without a follow-up.")
        return _board_redirect(appointment), "", 200
    form = FollowUpBookForm(request.POST, actor=request.user, providers=providers)
    if not form.is_valid():
        return None, " ".join(m for ms in form.errors.values() for m in ms), 400
    data = form.cleaned_data
    provider = next(p for p in providers if p.pk == data["provider"])
    try:
        starts_at = parse_when(data["start"], tz, name="start")
        # One unit: a refused completion must not leave a follow-up behind, nor a taken slot a finished visit.
        with transaction.atomic():
            follow_up = appointment_book(
                actor=request.user, patient=appointment.patient, provider=provider, location=appointment.location,
                appointment_type=data["appointment_type"], starts_at=starts_at, channel=BookingChannel.IN_PERSON,
            )
            _complete_visit(request, appointment)
    except ValidationError as exc:
        return None, " ".join(exc.messages), 409 if isinstance(exc, BookingConflict) else 400
    local = follow_up.starts_at.astimezone(tz)
    messages.success(
        request, f"{_patient_name(appointment)} checked out; follow-up booked {local:%a %b} {local.day}, {local:%H:%M} with {provider}."
    )
    return _board_redirect(appointment), "", 200


__all__ = ["NEXT_STEPS", "CheckInPanel", "check_in", "check_out", "flow_board", "flow_status", "register_check_in_panel"]
