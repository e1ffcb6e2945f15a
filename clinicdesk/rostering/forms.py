"""Forms of the roster pages: they parse and name the field; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.models import Department, Location
from clinicdesk.staff.models import StaffMember

from .choices import ChangeKind
from .models import RosterPeriod, ShiftType
from .services.solving import MAX_TIME_LIMIT

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the fields it names (others at the top of the form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class PeriodForm(forms.Form):
    name = forms.CharField(max_length=80)
    department = forms.ModelChoiceField(queryset=Department.objects.none())
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    start = forms.DateField(widget=DATE_INPUT, label="First day")
    end = forms.DateField(widget=DATE_INPUT, label="Last day")
    night_weight = forms.IntegerField(min_value=0, max_value=1000, initial=10, label="Fair nights weight")
    weekend_weight = forms.IntegerField(min_value=0, max_value=1000, initial=10, label="Fair weekends weight")
    holiday_weight = forms.IntegerField(min_value=0, max_value=1000, initial=10, label="Fair holidays weight")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id, is_active=True)
        self.fields["location"].queryset = Location.objects.filter(organization_id=organization_id, is_active=True)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The last day cannot be before the first.")
        return data


class SolveForm(forms.Form):
    time_limit_seconds = forms.IntegerField(min_value=1, max_value=MAX_TIME_LIMIT, initial=30, label="Time limit (seconds)")


class CellForm(forms.Form):
    """One cell of the grid: a person, a day and a shift code (empty = off)."""

    staff = forms.IntegerField()
    day = forms.DateField()
    shift = forms.CharField(required=False, max_length=10)

    def __init__(self, *args, period: RosterPeriod, **kwargs):
        super().__init__(*args, **kwargs)
        self.period = period

    def clean_staff(self):
        member = StaffMember.objects.filter(pk=self.cleaned_data["staff"], organization_id=self.period.organization_id,
                                            department_id=self.period.department_id).first()
        if member is None:
            raise ValidationError("No such person on this roster.")
        return member

    def clean_day(self):
        day = self.cleaned_data["day"]
        if not self.period.start <= day <= self.period.end:
            raise ValidationError(f"{day} is outside this roster ({self.period.start} to {self.period.end}).")
        return day

    def clean_shift(self):
        code = self.cleaned_data.get("shift") or ""
        if not code:
            return None
        kind = ShiftType.objects.filter(department_id=self.period.department_id, code=code, is_active=True).first()
        if kind is None:
            raise ValidationError(f"No shift “{code}” in {self.period.department}.")
        return kind


class TimeOffForm(forms.Form):
    start = forms.DateField(widget=DATE_INPUT, label="First day off")
    end = forms.DateField(widget=DATE_INPUT, label="Last day off")
    reason = forms.CharField(max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The last day off cannot be before the first.")
        return data


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("refuse", "Refuse")])
    note = forms.CharField(max_length=300, required=False)


class ChangeForm(forms.Form):
    kind = forms.ChoiceField(choices=ChangeKind.choices, label="Request")
    period = forms.ModelChoiceField(queryset=RosterPeriod.objects.none(), label="Roster")
    day = forms.DateField(widget=DATE_INPUT, label="My shift on")
    colleague = forms.ModelChoiceField(queryset=StaffMember.objects.none())
    colleague_day = forms.DateField(widget=DATE_INPUT, required=False, label="Their shift on (swap)")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, organization_id: int, department_id: int | None, exclude_id: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = RosterPeriod.objects.filter(organization_id=organization_id, status="published")
        colleagues = StaffMember.objects.filter(organization_id=organization_id, department_id=department_id)
        self.fields["colleague"].queryset = colleagues.exclude(pk=exclude_id) if exclude_id else colleagues

    def clean(self):
        data = super().clean()
        if data.get("kind") == ChangeKind.SWAP and not data.get("colleague_day"):
            self.add_error("colleague_day", "Choose the day of the colleague's shift you would take.")
        return data
