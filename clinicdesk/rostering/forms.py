"""Forms of the roster pages: they parse and name the field; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.models import Department, Location
from clinicdesk.staff.models import Skill, StaffMember

from .choices import ChangeKind
from .models import Contract, CoverageNeed, RosterPeriod, ShiftType
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


class SkillsField(forms.ModelMultipleChoiceField):
    """Skills by id; an id past the database's integers is an unknown choice, not a server error."""

    def _check_values(self, value):
        try:
            return super()._check_values(value)
        except OverflowError:
            raise ValidationError("Choose skills from the list.", code="invalid_pk_value") from None


class ShiftTypeForm(forms.ModelForm):
    skills = SkillsField(queryset=Skill.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
                         help_text="Skills everyone on this shift must hold.")

    class Meta:
        model = ShiftType
        fields = ["department", "code", "name", "start_time", "length_minutes", "is_night", "skills", "is_active"]
        widgets = {"start_time": forms.TimeInput(attrs={"type": "time"})}
        labels = {"length_minutes": "Length (minutes)", "is_night": "Night shift", "is_active": "In use"}

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id, is_active=True)
        self.fields["skills"].queryset = Skill.objects.filter(organization_id=organization_id)
        self.fields["code"].widget.attrs["autofocus"] = True

    def _post_clean(self):
        """The service checks the row; the form only parses it (a ModelForm would also check it against the model)."""


class CoverageNeedForm(forms.ModelForm):
    class Meta:
        model = CoverageNeed
        fields = ["department", "shift_type", "skill", "location", "weekday", "on_date", "minimum", "preferred"]
        widgets = {"on_date": DATE_INPUT}
        help_texts = {"location": "Empty: the department's every location."}

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id, is_active=True)
        self.fields["shift_type"].queryset = ShiftType.objects.filter(organization_id=organization_id, is_active=True)
        self.fields["skill"].queryset = Skill.objects.filter(organization_id=organization_id)
        self.fields["location"].queryset = Location.objects.filter(organization_id=organization_id, is_active=True)

    def _post_clean(self):
        """The service checks the row."""


class ContractForm(forms.ModelForm):
    max_shifts_by_type = forms.CharField(
        required=False, label="Most shifts per type in 4 weeks",
        help_text="Shift code and number, separated by commas, e.g. N=8, E=10 (N=0: never nights).")

    class Meta:
        model = Contract
        fields = ["min_hours_per_week", "max_hours_per_week", "max_shifts_by_type", "max_consecutive_shifts",
                  "min_consecutive_shifts", "min_consecutive_days_off", "min_rest_hours", "max_weekends"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limits = (self.instance.max_shifts_by_type or {}) if self.instance.pk else {}
        self.initial["max_shifts_by_type"] = ", ".join(f"{code}={n}" for code, n in sorted(limits.items()))

    def clean_max_shifts_by_type(self):
        text = (self.cleaned_data.get("max_shifts_by_type") or "").strip()
        limits: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            code, sep, number = part.partition("=")
            if not sep or not code.strip() or not number.strip().isdigit():
                raise ValidationError(f"“{part}” is not a shift code and a number, like N=8.")
            limits[code.strip()] = int(number)
        return limits

    def _post_clean(self):
        """The service checks the row."""
