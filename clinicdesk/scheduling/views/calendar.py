"""The calendar page and the JSON behind it: appointments of a range, the providers as columns, the
multi-provider day, moving by drag, booking from an empty slot; and the printable day sheet (PDF).

The calendar shows each location in its own time zone. FullCalendar runs in that named zone without a
time-zone plugin, so the server does the conversion: times go out as the location's wall-clock without
an offset, and wall-clock times coming back are read in the location's zone (an explicit offset wins).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime

from django import forms
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.audit import audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Location, User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.selectors import patient_search
from clinicdesk.patients.selectors.records import patient_scope

from ..choices import AppointmentStatus, BookingChannel
from ..models import Appointment, AppointmentType
from ..selectors import calendar as calendar_selectors
from ..selectors.calendar import (
    DayAppointment,
    DayView,
    calendar_appointment,
    calendar_appointment_types,
    calendar_location,
    calendar_locations,
    calendar_providers,
    day_view,
    location_time_zone,
)
from ..services.appointments import MOVABLE, BookingConflict, appointment_book, appointment_move


def calendar_policy() -> dict[str, list[str]]:
    """The site's Content-Security-Policy plus the two things FullCalendar 6 needs, on the calendar page only:
    its stylesheet, which it writes into a <style> element at run time (allowed by this response's nonce, which
    the page hands to FullCalendar in <meta name="csp-nonce">), and its icon font, a data: URL in that stylesheet.
    Scripts, style attributes and everything else stay as strict as on every other page."""
    policy = {directive: list(values) for directive, values in settings.SECURE_CSP.items()}
    fallback = policy.get("default-src", [CSP.SELF])
    for directive, extra in (("style-src", CSP.NONCE), ("font-src", "data:")):
        values = policy.setdefault(directive, list(fallback))
        if extra not in values:
            values.append(extra)
    return policy


CALENDAR_VIEWS = {"providers": "resourceTimeGridDay", "day": "timeGridDay", "week": "timeGridWeek", "month": "dayGridMonth"}
LOOKUP_LIMIT = 10
LOOKUP_MIN_CHARS = 2
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_ID = re.compile(r"^[0-9]{1,18}$")
DEFAULT_COLOR = "#0b5cad"


# --- parsing what the page sends ----------------------------------------------------------------------------


def parse_when(value: str | None, tz: zoneinfo.ZoneInfo, *, name: str) -> datetime:
    """A date and time from the calendar: wall-clock in `tz` unless it carries an offset. Refuses anything
    else with a message naming the field."""
    text = (value or "").strip()
    problem = ValidationError({name: f"Give '{name}' as a date and time like 2026-11-26T09:30."})
    if not text or len(text) > 40 or not text.isascii():
        raise problem
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise problem from None
    if not 1900 <= parsed.year <= 2200:
        raise ValidationError({name: "That date is out of range."})
    # fold=0: an ambiguous wall-clock time on the autumn change is the first (daylight) one.
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def parse_day(value: str | None, *, default: date, name: str = "date") -> date:
    text = (value or "").strip()
    if not text:
        return default
    try:
        day = date.fromisoformat(text[:10]) if text.isascii() else None
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2200:
        raise ValidationError({name: "Give the date like 2026-11-26."})
    return day


def parse_ids(values: list[str], *, name: str) -> list[int] | None:
    """Ids from repeated or comma-separated parameters (?provider=3&provider=5 or ?provider=3,5); None if absent."""
    words = [w.strip() for value in values for w in value.split(",") if w.strip()]
    if not words:
        return None
    if not all(_ID.match(w) for w in words):
        raise ValidationError({name: f"'{name}' takes numeric ids."})
    return [int(w) for w in words]


def local_iso(moment: datetime, tz: zoneinfo.ZoneInfo) -> str:
    """An instant as the location's wall-clock, without offset (what FullCalendar expects in a named zone)."""
    return moment.astimezone(tz).replace(tzinfo=None).isoformat(timespec="seconds")


def error_payload(exc: ValidationError) -> dict:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return {"errors": errors, "message": " ".join(m for ms in errors.values() for m in ms)}


def json_error(exc: ValidationError) -> JsonResponse:
    """400 naming the fields, 409 when the time is taken."""
    return JsonResponse(error_payload(exc), status=409 if isinstance(exc, BookingConflict) else 400)


def _ink_for(color: str) -> str:
    """Black or white text, whichever reads better on the type's colour (WCAG relative luminance)."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = ((c / 12.92) if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return "#111111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "#ffffff"


class _Links:
    """The patient and move URLs of many events: each pattern is reversed once, then filled in per event."""

    PATIENT_SENTINEL = "zzzzzzzzzzzzzz"  # a well-formed patient public id
    MOVE_SENTINEL = "appointment-id"

    def __init__(self) -> None:
        self.patient = reverse("patients:detail", kwargs={"public_id": self.PATIENT_SENTINEL})
        self.move = reverse("scheduling:calendar_move", kwargs={"appointment_id": self.MOVE_SENTINEL})
        self.detail = reverse("scheduling:appointment", kwargs={"appointment_id": self.MOVE_SENTINEL})

    def detail_url(self, public_id: str) -> str:
        return self.detail.replace(self.MOVE_SENTINEL, public_id)

    def patient_url(self, public_id: str) -> str:
        return self.patient.replace(self.PATIENT_SENTINEL, public_id)

    def move_url(self, public_id: str) -> str:
        return self.move.replace(self.MOVE_SENTINEL, public_id)


def event_json(appointment: Appointment | DayAppointment, tz: zoneinfo.ZoneInfo, *, can_book: bool,
               links: _Links | None = None) -> dict:
    """One appointment (a model, or a day-view line) as a FullCalendar event. Colour by type; status as a class (cancelled and no-show greyed)."""
    kind = appointment.appointment_type
    color = kind.color if _COLOR.match(kind.color or "") else DEFAULT_COLOR
    patient = appointment.patient
    movable = can_book and appointment.status in MOVABLE
    links = links or _Links()
    return {
        "id": appointment.public_id,
        "resourceId": str(appointment.provider_id),
        "title": f"{patient.last_name}, {patient.first_name}",
        "start": local_iso(appointment.starts_at, tz),
        "end": local_iso(appointment.ends_at, tz),
        "backgroundColor": color,
        "borderColor": color,
        "textColor": _ink_for(color),
        "classNames": ["appt", f"status-{appointment.status}"],
        "editable": movable,
        # A link: a click (or Enter) opens the appointment page, where it is cancelled or edited.
        "url": links.detail_url(appointment.public_id),
        "extendedProps": {
            "type": kind.name,
            "status": appointment.status,
            "statusLabel": appointment.get_status_display(),
            "provider": str(appointment.provider),
            "room": appointment.room.name if appointment.room_id else "",
            "notes": appointment.notes[:300],
            "patientUrl": links.patient_url(patient.public_id),
            "moveUrl": links.move_url(appointment.public_id) if movable else "",
        },
    }


def _resource_json(provider: User, order: int) -> dict:
    """A provider as a FullCalendar resource; `order` keeps the selector's order (by last name)."""
    return {"id": str(provider.pk), "title": str(provider), "order": order}


def _range(request: HttpRequest, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    start = parse_when(request.GET.get("start"), tz, name="start")
    end = parse_when(request.GET.get("end"), tz, name="end")
    return start, end


def _location_and_providers(request: HttpRequest) -> tuple[Location, list[int] | None]:
    location = calendar_location(actor=request.user, location_id=request.GET.get("location"))
    return location, parse_ids(request.GET.getlist("provider"), name="provider")


# --- the page ---------------------------------------------------------------------------------------------


@require_GET
@requires(Perm.SCHEDULE_VIEW)
@csp_override(calendar_policy())
def calendar(request: HttpRequest) -> HttpResponse:
    """The calendar: the multi-provider day by default, and day, week and month views."""
    actor = request.user
    status, problems = 200, []
    locations = calendar_locations(actor=actor)
    if not locations:
        return render(request, "scheduling/calendar.html", {"locations": []})
    try:
        location = calendar_location(actor=actor, location_id=request.GET.get("location"))
    except ValidationError as exc:
        location, status = locations[0], 400
        problems += exc.messages
    tz = location_time_zone(location)
    today = timezone.now().astimezone(tz).date()
    try:
        initial_date = parse_day(request.GET.get("date"), default=today)
    except ValidationError as exc:
        initial_date, status = today, 400
        problems += exc.messages
    try:
        chosen = parse_ids(request.GET.getlist("provider"), name="provider")
    except ValidationError as exc:
        chosen, status = None, 400
        problems += exc.messages
    providers = calendar_providers(actor=actor, location=location)
    chosen_ids = {p.pk for p in providers} & set(chosen) if chosen else set()
    view = request.GET.get("view", "")
    if view not in CALENDAR_VIEWS:
        view = "week" if len(chosen_ids) == 1 else "providers"
    can_book = actor.has_perm_code(Perm.SCHEDULE_BOOK) and actor.has_perm_code(Perm.PATIENT_VIEW)
    types = list(calendar_appointment_types(actor=actor))
    sheet_query = f"location={location.pk}&date={initial_date.isoformat()}"
    if len(chosen_ids) == 1:
        sheet_query += f"&provider={next(iter(chosen_ids))}"
    return render(
        request,
        "scheduling/calendar.html",
        {
            "locations": locations,
            "location": location,
            "providers": providers,
            "chosen_ids": chosen_ids,
            "types": types,
            "initial_date": initial_date,
            "initial_view": CALENDAR_VIEWS[view],
            "view": view,
            "can_book": can_book,
            "problems": problems,
            "sheet_query": sheet_query,
            "provider_query": "".join(f"&provider={pk}" for pk in sorted(chosen_ids)),
        },
        status=status,
    )


# --- JSON for FullCalendar ---------------------------------------------------------------------------------


@require_GET
@requires(Perm.SCHEDULE_VIEW)
def calendar_events(request: HttpRequest) -> JsonResponse:
    """Appointments overlapping ?start&end at ?location (for ?provider, repeatable), as FullCalendar events."""
    try:
        location, provider_ids = _location_and_providers(request)
        tz = location_time_zone(location)
        start, end = _range(request, tz)
        appointments = calendar_selectors.calendar_events(
            actor=request.user, start=start, end=end, provider_ids=provider_ids, location=location
        )
    except ValidationError as exc:
        return json_error(exc)
    can_book = request.user.has_perm_code(Perm.SCHEDULE_BOOK)
    links = _Links()
    return JsonResponse([event_json(a, tz, can_book=can_book, links=links) for a in appointments], safe=False)


@require_GET
@requires(Perm.SCHEDULE_VIEW)
def calendar_resources(request: HttpRequest) -> JsonResponse:
    """The providers of ?location (limited to ?provider) as FullCalendar resources, one column each."""
    try:
        location, provider_ids = _location_and_providers(request)
    except ValidationError as exc:
        return json_error(exc)
    providers = calendar_providers(actor=request.user, location=location, provider_ids=provider_ids)
    return JsonResponse([_resource_json(p, i) for i, p in enumerate(providers)], safe=False)


def day_json(view: DayView, *, can_book: bool) -> dict:
    """The multi-provider day for FullCalendar: appointments, and as background the time each provider can be
    booked and the time they are away (labelled, so a sick day is plain to see)."""
    tz = view.time_zone
    links = _Links()
    events: list[dict] = []
    for column in view.columns:
        resource = str(column.provider.pk)
        for window in column.open_windows:
            events.append({
                "resourceId": resource, "start": local_iso(window.starts_at, tz), "end": local_iso(window.ends_at, tz),
                "display": "background", "classNames": ["open-window"], "groupId": f"open-{resource}",
            })
        for away in column.away:
            start, end = max(away.starts_at, view.starts_at), min(away.ends_at, view.ends_at)
            events.append({
                "resourceId": resource, "start": local_iso(start, tz), "end": local_iso(end, tz), "display": "background",
                "classNames": ["away", f"away-{away.kind}"], "title": away.get_kind_display(),
            })
        events.extend(event_json(a, tz, can_book=can_book, links=links) for a in column.appointments)
    return {
        "date": view.day.isoformat(),
        "timeZone": str(tz),
        "resources": [
            {**_resource_json(c.provider, i), "extendedProps": {"booked": len(c.live_appointments), "away": bool(c.away)}}
            for i, c in enumerate(view.columns)
        ],
        "events": events,
    }


@require_GET
@requires(Perm.SCHEDULE_VIEW)
def calendar_day(request: HttpRequest) -> JsonResponse:
    """The multi-provider day view's data (?date or ?start, ?location, ?provider) from the `day_view` selector."""
    try:
        location, provider_ids = _location_and_providers(request)
        tz = location_time_zone(location)
        if request.GET.get("start"):
            day = parse_when(request.GET.get("start"), tz, name="start").astimezone(tz).date()
        else:
            day = parse_day(request.GET.get("date"), default=timezone.now().astimezone(tz).date())
    except ValidationError as exc:
        return json_error(exc)
    view = day_view(actor=request.user, day=day, location=location, provider_ids=provider_ids)
    return JsonResponse(day_json(view, can_book=request.user.has_perm_code(Perm.SCHEDULE_BOOK)))


@require_GET
@requires(Perm.SCHEDULE_BOOK, Perm.PATIENT_VIEW)
def calendar_patients(request: HttpRequest) -> JsonResponse:
    """The booking dialog's patient type-ahead: the header search (`patient_search`) as JSON, directory data only."""
    query = request.GET.get("q", "")[:100]
    if len(query.strip()) < LOOKUP_MIN_CHARS or "\x00" in query:
        return JsonResponse([], safe=False)
    patients = patient_search(actor=request.user, query=query, limit=LOOKUP_LIMIT)
    return JsonResponse(
        [
            {
                "id": p.public_id,
                "name": f"{p.last_name}, {p.first_name}",
                "dob": p.date_of_birth.strftime("%m/%d/%Y"),
                "mrn": p.mrn,
                "status": p.get_status_display() if p.status != "active" else "",
            }
            for p in patients
        ],
        safe=False,
    )


# --- writes: move by drag, book from an empty slot ---------------------------------------------------------


@require_POST
@requires(Perm.SCHEDULE_BOOK)
def calendar_move(request: HttpRequest, appointment_id: str) -> JsonResponse:
    """Drag or resize: ?start, ?end (wall-clock of the appointment's location) and, between columns, ?resource
    (the new provider). The booking service decides; on refusal the calendar puts the event back."""
    appointment = calendar_appointment(actor=request.user, public_id=appointment_id)
    tz = location_time_zone(appointment.location)
    try:
        starts_at = parse_when(request.POST.get("start"), tz, name="start")
        ends_at = parse_when(request.POST.get("end"), tz, name="end") if request.POST.get("end") else None
        provider = None
        resource = parse_ids([request.POST.get("resource", "")], name="resource")
        if resource and resource[0] != appointment.provider_id:
            found = calendar_providers(actor=request.user, location=appointment.location, provider_ids=resource)
            if not found:
                raise ValidationError({"resource": "That provider cannot be booked at this location."})
            provider = found[0]
        appointment = appointment_move(
            actor=request.user, appointment=appointment, starts_at=starts_at, ends_at=ends_at, provider=provider
        )
    except ValidationError as exc:
        return json_error(exc)
    appointment = calendar_appointment(actor=request.user, public_id=appointment.public_id)
    return JsonResponse({"event": event_json(appointment, tz, can_book=True), "message": "Appointment moved."})


class CalendarBookForm(forms.Form):
    """The booking dialog: the time comes from the slot clicked, the rest from three quick choices."""

    patient = forms.CharField(max_length=14, error_messages={"required": "Choose the patient."})
    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.none(),
        error_messages={"required": "Choose the type of visit.", "invalid_choice": "Choose a type of visit from the list."},
    )
    provider = forms.ModelChoiceField(
        queryset=User.objects.none(),
        error_messages={"required": "Choose the provider.", "invalid_choice": "Choose a provider from the list."},
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), error_messages={"invalid_choice": "Choose a location from the list."}
    )
    start = forms.CharField(max_length=40, error_messages={"required": "Choose a time on the calendar."})
    notes = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["appointment_type"].queryset = calendar_appointment_types(actor=actor)
        self.fields["location"].queryset = Location.objects.filter(pk__in=[loc.pk for loc in calendar_locations(actor=actor)])
        self.fields["provider"].queryset = User.objects.filter(organization_id=actor.organization_id, is_active=True)

    def clean_patient(self):
        public_id = self.cleaned_data["patient"].strip()
        patient = patient_scope(actor=self.actor).filter(public_id=public_id).first()
        if patient is None:
            raise ValidationError("Choose a patient from the list.")
        return patient

    def clean(self):
        data = super().clean()
        location, provider = data.get("location"), data.get("provider")
        if location is not None and data.get("start"):
            try:
                data["starts_at"] = parse_when(data["start"], location_time_zone(location), name="start")
            except ValidationError as exc:
                self.add_error("start", exc.message_dict["start"])
        if (
            location is not None
            and provider is not None
            and not calendar_providers(actor=self.actor, location=location, provider_ids=[provider.pk])
        ):
            self.add_error("provider", "This provider does not work at this location.")
        return data


@require_POST
@requires(Perm.SCHEDULE_BOOK, Perm.PATIENT_VIEW)
def calendar_book(request: HttpRequest) -> JsonResponse:
    """Book from the dialog through `appointment_book`; answers the new event, 400 naming fields, 409 if taken."""
    form = CalendarBookForm(request.POST, actor=request.user)
    if not form.is_valid():
        errors = {k: [e["message"] for e in v] for k, v in form.errors.get_json_data().items()}
        return JsonResponse({"errors": errors, "message": " ".join(m for ms in errors.values() for m in ms)}, status=400)
    data = form.cleaned_data
    try:
        appointment = appointment_book(
            actor=request.user,
            patient=data["patient"],
            provider=data["provider"],
            location=data["location"],
            appointment_type=data["appointment_type"],
            starts_at=data["starts_at"],
            notes=data.get("notes", ""),
            channel=BookingChannel.PHONE,
        )
    except ValidationError as exc:
        return json_error(exc)
    appointment = calendar_appointment(actor=request.user, public_id=appointment.public_id)
    tz = location_time_zone(appointment.location)
    return JsonResponse(
        {
            "event": event_json(appointment, tz, can_book=True),
            "message": f"Booked {appointment.patient.first_name} {appointment.patient.last_name} "
                       f"at {appointment.starts_at.astimezone(tz):%H:%M} with {appointment.provider}.",
        },
        status=201,
    )


# --- the printable day sheet ----------------------------------------------------------------------------------


@require_GET
@requires(Perm.SCHEDULE_VIEW, Perm.PATIENT_VIEW)
def day_sheet(request: HttpRequest) -> HttpResponse:
    """The day's list per provider (?provider, or every provider of ?location) as a PDF, a page each.

    Printing shows each listed patient's name, birth date and visit, so every patient on the sheet gets a
    'patient.printed' audit row (channel print), one per patient however many visits they have that day.
    Cancelled visits are left off the paper and counted at the foot.
    """
    try:
        location, provider_ids = _location_and_providers(request)
        tz = location_time_zone(location)
        day = parse_day(request.GET.get("date"), default=timezone.now().astimezone(tz).date())
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    view = day_view(actor=request.user, day=day, location=location, provider_ids=provider_ids)
    if provider_ids and not view.columns:
        return HttpResponse("Unknown provider for this location.", status=400, content_type="text/plain; charset=utf-8")
    pdf = render_day_sheet(view)
    printed = {a.patient_id for c in view.columns for a in c.appointments if a.status != AppointmentStatus.CANCELLED}
    audit_events(
        targets=list(patient_scope(actor=request.user).filter(pk__in=printed).order_by("pk")),
        action="patient.printed",
        actor=request.user,
        channel=AuditChannel.PRINT,
        summary=f"Day sheet {day.isoformat()} at {location.name}"[:300],
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    names = "-".join(str(c.provider.pk) for c in view.columns) if provider_ids else location.code
    response["Content-Disposition"] = f'inline; filename="day-sheet-{day.isoformat()}-{names[:60]}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


def render_day_sheet(view: DayView) -> bytes:
    """The day sheet as PDF bytes (WeasyPrint; the stylesheet is static/css/day_sheet.css)."""
    from weasyprint import CSS, HTML  # imported here: loading Pango costs a moment and only this view needs it

    columns = []
    for column in view.columns:
        shown = [a for a in column.appointments if a.status != AppointmentStatus.CANCELLED]
        columns.append({"column": column, "appointments": shown, "cancelled": len(column.appointments) - len(shown)})
    html = render_to_string(
        "scheduling/day_sheet.html",
        {"view": view, "columns": columns, "printed_at": timezone.now().astimezone(view.time_zone),
         "time_zone": str(view.time_zone)},
    )
    stylesheet = finders.find("css/day_sheet.css")
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=stylesheet)] if stylesheet else None)


def calendar_url(*, location: Location, day: date | None = None, view: str = "providers", provider_id: int | None = None) -> str:
    """A link into the calendar (used by the flow board and check-out)."""
    query = f"?location={location.pk}&view={view}"
    if day is not None:
        query += f"&date={day.isoformat()}"
    if provider_id is not None:
        query += f"&provider={provider_id}"
    return reverse("scheduling:calendar") + query
