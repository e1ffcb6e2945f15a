"""Forms of the front desk's queues (calls, waitlist, recalls). They parse what people type; the
services decide what is allowed and their field errors are put back on these fields."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django import forms
from django.utils import timezone

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import User
from clinicdesk.patients.models import Patient
from clinicdesk.patients.selectors import patient_search
from clinicdesk.patients.selectors.records import patient_scope

from .choices import LIVE_STATUSES, CallDirection, CallOutcome, CallReason, RecallStatus, TimeOfDay, WaitlistStatus
from .models import WEEKDAYS, Appointment, AppointmentType
from .selectors.front_desk import RECALL_WHEN, call_assignees, waitlist_form_choices

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
PATIENT_MATCHES = 8


def _user_label(user: User) -> str:
    return str(user)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return _user_label(obj)


# --- calls ---------------------------------------------------------------------------------------------


class PhoneCallForm(ServiceErrorsMixin, forms.Form):
    """Log a call in a few keystrokes: who, why, what happened, and whether someone must call back.

    The patient is fixed when the form is opened from the patient page; otherwise `patient_query`
    (name, birth date, phone or MRN) is resolved on submit, and several matches are offered as choices.
    """

    patient = forms.CharField(required=False, widget=forms.HiddenInput)
    patient_query = forms.CharField(
        label="Patient", required=False, max_length=100,
        help_text="Name, birth date, phone or MRN; leave empty for a caller who is not a patient.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    direction = forms.ChoiceField(choices=CallDirection.choices, initial=CallDirection.INBOUND, widget=forms.RadioSelect)
    caller_name = forms.CharField(label="Caller (if not the patient)", required=False, max_length=160)
    phone = forms.CharField(label="Number", required=False, max_length=30,
                            widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}))
    reason = forms.ChoiceField(choices=CallReason.choices, initial=CallReason.BOOK)
    outcome = forms.ChoiceField(choices=CallOutcome.choices, initial=CallOutcome.RESOLVED)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    callback_needed = forms.BooleanField(label="Callback needed", required=False)
    callback_due = forms.DateTimeField(
        label="Call back by", required=False, widget=DATETIME_WIDGET, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="Used only when 'Callback needed' is ticked.",
    )
    assigned_to = StaffChoiceField(label="Assigned to", queryset=User.objects.none(), required=False,
                                   empty_label="Anyone (shared queue)")

    def __init__(self, *args, actor: User, patient: Patient | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fixed_patient = patient
        self.matches: list[Patient] = []
        self.fields["assigned_to"].queryset = call_assignees(actor=actor)
        if not self.is_bound:
            self.initial.setdefault("assigned_to", actor.pk)
            self.initial.setdefault("callback_due", _next_callback_time())
        if patient is not None:
            self.fields["patient_query"].widget = forms.HiddenInput()
            self.initial["patient"] = patient.public_id
            self.fields["direction"].widget.attrs["autofocus"] = True

    def clean(self):
        data = super().clean()
        if not data.get("callback_needed"):
            data["callback_due"] = None
        data["patient_obj"] = self._resolve_patient(data)
        return data

    def _resolve_patient(self, data) -> Patient | None:
        if self.fixed_patient is not None:
            return self.fixed_patient
        scope = patient_scope(actor=self.actor)
        public_id = data.get("patient") or ""
        if public_id:
            patient = scope.filter(public_id=public_id).first()
            if patient is None:
                self.add_error("patient_query", "No such patient.")
            return patient
        query = (data.get("patient_query") or "").strip()
        if not query:
            return None
        self.matches = patient_search(actor=self.actor, query=query, limit=PATIENT_MATCHES)
        if len(self.matches) == 1:
            return self.matches[0]
        if not self.matches:
            self.add_error("patient_query", f"No patient matches “{query}”. Try the birth date, the phone or the MRN.")
        else:
            self.add_error("patient_query", "Several patients match: choose one below.")
        return None

    def service_values(self) -> dict:
        data = self.cleaned_data
        return {
            "patient": data["patient_obj"],
            "direction": data["direction"],
            "caller_name": data.get("caller_name", ""),
            "phone": data.get("phone", ""),
            "reason": data["reason"],
            "outcome": data["outcome"],
            "notes": data.get("notes", ""),
            "callback_needed": bool(data.get("callback_needed")),
            "callback_due": data.get("callback_due"),
            "assigned_to": data.get("assigned_to"),
        }


def _next_callback_time():
    """Two hours from now on the quarter hour: the usual 'we'll call you back' promise."""
    now = timezone.localtime() + timedelta(hours=2)
    return now.replace(minute=(now.minute // 15) * 15, second=0, microsecond=0)


class CallFilterForm(forms.Form):
    direction = forms.ChoiceField(choices=[("", "Any direction"), *CallDirection.choices], required=False)
    reason = forms.ChoiceField(choices=[("", "Any reason"), *CallReason.choices], required=False)
    outcome = forms.ChoiceField(choices=[("", "Any outcome"), *CallOutcome.choices], required=False)
    date_from = forms.DateField(label="From", required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label="To", required=False, widget=DATE_WIDGET)


class CallbackDoneForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("", "Keep the outcome"), *CallOutcome.choices], required=False)
    notes = forms.CharField(required=False, max_length=1000)


# --- waitlist ---------------------------------------------------------------------------------------------


class WaitlistEntryForm(ServiceErrorsMixin, forms.Form):
    """A patient's constraints for an earlier or any time; the patient is chosen before this form."""

    appointment_type = forms.ModelChoiceField(label="Appointment type", queryset=AppointmentType.objects.none())
    providers = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for any provider.",
    )
    location = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any location")
    current_appointment = forms.ModelChoiceField(
        label="Move this appointment earlier", queryset=Appointment.objects.none(), required=False,
        empty_label="None: the patient has no appointment yet",
    )
    earliest_date = forms.DateField(label="Not before", required=False, widget=DATE_WIDGET)
    latest_date = forms.DateField(label="Not after", required=False, widget=DATE_WIDGET)
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for any day.",
    )
    time_of_day = forms.ChoiceField(choices=TimeOfDay.choices, initial=TimeOfDay.ANY)
    priority = forms.IntegerField(initial=0, help_text="0 to 10; higher is offered first.",
                                  widget=forms.NumberInput(attrs={"min": 0, "max": 10}))
    notes = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, actor: User, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        choices = waitlist_form_choices(actor=actor)
        self.fields["appointment_type"].queryset = choices["appointment_types"]
        self.fields["appointment_type"].widget.attrs["autofocus"] = True
        self.fields["providers"].queryset = choices["providers"]
        self.fields["providers"].label_from_instance = _user_label
        self.fields["location"].queryset = choices["locations"]
        self.fields["current_appointment"].queryset = (
            Appointment.objects.filter(patient=patient, status__in=LIVE_STATUSES, starts_at__gt=timezone.now())
            .select_related("appointment_type", "provider", "location")
            .order_by("starts_at")
        )
        self.fields["current_appointment"].label_from_instance = _appointment_label

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        data["providers"] = list(data.get("providers") or [])
        data["weekdays"] = list(data.get("weekdays") or [])
        return data


def _appointment_label(appointment: Appointment) -> str:
    local = timezone.localtime(appointment.starts_at, zoneinfo.ZoneInfo(appointment.location.time_zone))
    return f"{local:%a %Y-%m-%d %H:%M} · {appointment.appointment_type} with {appointment.provider}"


class WaitlistFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("open", "Waiting or offered"), *WaitlistStatus.choices, ("", "All")], required=False)
    appointment_type = forms.ModelChoiceField(queryset=AppointmentType.objects.none(), required=False, empty_label="Any type")

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = waitlist_form_choices(actor=actor)["appointment_types"]


# --- recalls ------------------------------------------------------------------------------------------------


class RecallRuleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"autofocus": True}))
    after_type = forms.ModelChoiceField(label="After a completed", queryset=AppointmentType.objects.none())
    interval_months = forms.IntegerField(label="Interval (months)", initial=12,
                                         widget=forms.NumberInput(attrs={"min": 1, "max": 120}))
    recall_type = forms.ModelChoiceField(label="Book this", queryset=AppointmentType.objects.none())
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        types = AppointmentType.objects.filter(organization_id=actor.organization_id).order_by("name")
        self.fields["after_type"].queryset = types
        self.fields["recall_type"].queryset = types


class RecallFilterForm(forms.Form):
    when = forms.ChoiceField(label="Due", choices=list(RECALL_WHEN.items()), required=False)
    status = forms.ChoiceField(choices=[("open", "Due or contacted"), *RecallStatus.choices, ("", "All")], required=False)
    rule = forms.ModelChoiceField(queryset=None, required=False, empty_label="Every rule")

    def __init__(self, *args, rules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = rules


class NoteForm(forms.Form):
    notes = forms.CharField(required=False, max_length=300)
