"""Forms of the appointment pages (move, cancel, find a time, book) and of the schedule setup pages (types,
availability, exceptions, blocking a day, location settings). They parse what people type, with times as
the location's wall-clock; the services decide what is allowed."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.models import Location, Room, User
from clinicdesk.patients.forms import ModelFieldsForm

from .choices import ExceptionKind, SeriesEditScope, TimeOfDay
from .models import WEEKDAYS, AppointmentType, Equipment, LocationSchedule
from .selectors.availability import location_tz
from .services.appointments import PROVIDER_ROLES

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
_SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")
DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def add_service_errors(form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError on the fields it names (others at the top of the form)."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        name = aliases.get(field, field)
        form.add_error(name if name in form.fields else None, messages)


def providers_of(organization_id: int):
    return User.objects.filter(organization_id=organization_id, role__in=PROVIDER_ROLES, is_active=True).order_by("last_name", "first_name")


def locations_of(organization_id: int):
    return Location.objects.filter(organization_id=organization_id, is_active=True).order_by("name")


def types_of(organization_id: int, *, active_only: bool = True):
    rows = AppointmentType.objects.filter(organization_id=organization_id)
    return rows.filter(is_active=True) if active_only else rows


def local_instant(day: date, at: time, location: Location) -> datetime:
    return datetime.combine(day, at, tzinfo=location_tz(location.time_zone))


class MoveForm(forms.Form):
    date = forms.DateField(widget=DATE_WIDGET)
    time = forms.TimeField(widget=TIME_WIDGET)
    duration_minutes = forms.IntegerField(min_value=5, max_value=720, label="Length (minutes)")
    provider = forms.ModelChoiceField(queryset=User.objects.none())
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False, empty_label="Keep / pick automatically")
    scope = forms.ChoiceField(choices=SeriesEditScope.choices, initial=SeriesEditScope.THIS, label="Apply to")
    override = forms.BooleanField(required=False, label="Book outside the usual hours (squeeze in)")

    def __init__(self, *args, appointment, can_override: bool = False, **kwargs):
        tz = location_tz(appointment.location.time_zone)
        local = appointment.starts_at.astimezone(tz)
        kwargs.setdefault("initial", {
            "date": local.date(), "time": local.time().replace(second=0, microsecond=0),
            "duration_minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
            "provider": appointment.provider_id, "room": appointment.room_id, "scope": SeriesEditScope.THIS,
        })
        super().__init__(*args, **kwargs)
        self.appointment = appointment
        self.fields["provider"].queryset = providers_of(appointment.organization_id)
        self.fields["room"].queryset = Room.objects.filter(location=appointment.location, is_active=True)
        if appointment.series_id is None:
            del self.fields["scope"]
        if not can_override:
            del self.fields["override"]

    def starts_at(self) -> datetime:
        return local_instant(self.cleaned_data["date"], self.cleaned_data["time"], self.appointment.location)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    scope = forms.ChoiceField(choices=SeriesEditScope.choices, initial=SeriesEditScope.THIS, label="Cancel")

    def __init__(self, *args, appointment, **kwargs):
        super().__init__(*args, **kwargs)
        if appointment.series_id is None:
            del self.fields["scope"]


class SlotSearchForm(forms.Form):
    appointment_type = forms.ModelChoiceField(queryset=AppointmentType.objects.none(), label="Type")
    provider = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Any provider")
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False, empty_label="Any location")
    date_from = forms.DateField(widget=DATE_WIDGET, required=False, label="From")
    days = forms.IntegerField(min_value=1, max_value=90, initial=14, required=False, label="Days to search")
    time_of_day = forms.ChoiceField(choices=TimeOfDay.choices, initial=TimeOfDay.ANY, required=False, label="Time of day")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = types_of(organization_id)
        self.fields["provider"].queryset = providers_of(organization_id)
        self.fields["location"].queryset = locations_of(organization_id)


class BookForm(forms.Form):
    """The chosen slot travels in hidden fields; the patient is picked from a search."""

    appointment_type = forms.ModelChoiceField(queryset=AppointmentType.objects.none(), widget=forms.HiddenInput)
    provider = forms.ModelChoiceField(queryset=User.objects.none(), widget=forms.HiddenInput)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(widget=forms.HiddenInput)
    patient = forms.CharField(max_length=14, widget=forms.HiddenInput)
    notes = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = types_of(organization_id)
        self.fields["provider"].queryset = providers_of(organization_id)
        self.fields["location"].queryset = locations_of(organization_id)

    def clean_starts_at(self):
        value = self.cleaned_data["starts_at"]
        if value is not None and value.tzinfo is None:
            raise ValidationError("Give the time with its UTC offset.")
        return value


class AppointmentTypeForm(ModelFieldsForm):
    model = AppointmentType
    field_names = (
        "name", "code", "duration_minutes", "color", "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
        "max_per_day", "new_patient_only", "bookable_online", "late_cancel_hours", "capacity", "room_kind", "is_active",
    )  # fmt: skip
    widgets = {"color": forms.TextInput(attrs={"type": "color"})}
    autofocus = "name"

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["equipment"] = forms.ModelMultipleChoiceField(
            queryset=Equipment.objects.filter(location__organization_id=organization_id, is_active=True), required=False,
            widget=forms.CheckboxSelectMultiple, help_text="Reserved at the location of each booking.",
        )
        if self.instance is not None:
            self.initial.setdefault("equipment", list(self.instance.equipment.values_list("pk", flat=True)))


def parse_spans(text: str, *, field: str) -> list[tuple[time, time]]:
    """'08:00-12:00, 13:00-17:00' -> [(08:00, 12:00), (13:00, 17:00)]."""
    spans = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        match = _SPAN.match(part)
        if not match:
            raise ValidationError(f"'{part.strip()}' is not like 08:00-12:00.")
        try:
            start, end = time.fromisoformat(match[1].zfill(5)), time.fromisoformat(match[2].zfill(5))
        except ValueError as exc:
            raise ValidationError(f"'{part.strip()}' is not a valid time span.") from exc
        spans.append((start, end))
    return spans


def format_spans(blocks) -> str:
    return ", ".join(f"{b.start_time:%H:%M}-{b.end_time:%H:%M}" for b in blocks)


class AvailabilityTemplateForm(forms.Form):
    provider = forms.ModelChoiceField(queryset=User.objects.none())
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    name = forms.CharField(max_length=80, initial="Usual week")
    effective_from = forms.DateField(widget=DATE_WIDGET)
    effective_to = forms.DateField(widget=DATE_WIDGET, required=False, help_text="Leave empty for no end.")

    def __init__(self, *args, organization_id: int, template=None, **kwargs):
        if template is not None:
            initial = {"provider": template.provider_id, "location": template.location_id, "name": template.name,
                       "effective_from": template.effective_from, "effective_to": template.effective_to}
            blocks = list(template.blocks.all())
            for weekday, key in zip(range(7), DAY_KEYS, strict=True):
                initial[key] = format_spans([b for b in blocks if b.weekday == weekday])
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers_of(organization_id)
        self.fields["location"].queryset = locations_of(organization_id)
        for (_weekday, label), key in zip(WEEKDAYS, DAY_KEYS, strict=True):
            self.fields[key] = forms.CharField(
                label=label, required=False, help_text="e.g. 08:00-12:00, 13:00-17:00; empty for a day off." if key == "mon" else "",
            )

    def blocks(self) -> list[dict]:
        out = []
        for weekday, key in enumerate(DAY_KEYS):
            try:
                spans = parse_spans(self.cleaned_data.get(key, ""), field=key)
            except ValidationError as exc:
                self.add_error(key, exc)
                continue
            out.extend({"weekday": weekday, "start_time": a, "end_time": b} for a, b in spans)
        return out


class ScheduleExceptionForm(forms.Form):
    kind = forms.ChoiceField(choices=ExceptionKind.choices)
    provider = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="— the whole location —")
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False, empty_label="— every location —")
    start_date = forms.DateField(widget=DATE_WIDGET)
    start_time = forms.TimeField(widget=TIME_WIDGET, initial=time(0), required=False)
    end_date = forms.DateField(widget=DATE_WIDGET)
    end_time = forms.TimeField(widget=TIME_WIDGET, required=False, help_text="Empty: to the end of the end date.")
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id = organization_id
        self.fields["provider"].queryset = providers_of(organization_id)
        self.fields["location"].queryset = locations_of(organization_id)

    def instants(self, fallback_zone: str) -> tuple[datetime, datetime]:
        data = self.cleaned_data
        tz = location_tz(data["location"].time_zone if data.get("location") else fallback_zone)
        start = datetime.combine(data["start_date"], data.get("start_time") or time(0), tzinfo=tz)
        if data.get("end_time") is None:
            end = datetime.combine(data["end_date"] + timedelta(days=1), time(0), tzinfo=tz)
        else:
            end = datetime.combine(data["end_date"], data["end_time"], tzinfo=tz)
        return start, end


class BlockDayForm(forms.Form):
    provider = forms.ModelChoiceField(queryset=User.objects.none())
    day = forms.DateField(widget=DATE_WIDGET, label="Date")
    kind = forms.ChoiceField(
        choices=[(k, ExceptionKind(k).label) for k in (ExceptionKind.SICK, ExceptionKind.VACATION, ExceptionKind.BLOCKED)]
    )
    reason = forms.CharField(max_length=200, required=False, initial="Called in sick")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers_of(organization_id)


class LocationScheduleForm(ModelFieldsForm):
    model = LocationSchedule
    field_names = ("holiday_country", "holiday_subdivision", "observe_holidays", "slot_step_minutes")
