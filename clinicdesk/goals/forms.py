"""Forms of the goals pages: they parse what people type; the services decide and their field errors come back here."""

from __future__ import annotations

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Department, Location, User

from .choices import Direction, PeriodKind
from .kpis import registry

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ObjectiveForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(max_length=160)
    department = forms.ModelChoiceField(queryset=Department.objects.none())
    owner = forms.ModelChoiceField(queryset=User.objects.none(), help_text="The person answerable for it.")
    period_kind = forms.ChoiceField(label="Period", choices=PeriodKind.choices, initial=PeriodKind.QUARTER)
    start = forms.DateField(widget=DATE_WIDGET, help_text="For a quarter or a month: any day in it.")
    end = forms.DateField(widget=DATE_WIDGET, required=False, help_text="Custom dates only.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000)

    def __init__(self, *args, user: User, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["owner"].queryset = User.objects.filter(organization_id=user.organization_id, is_active=True) \
            .order_by("last_name", "first_name")


class KeyResultForm(ServiceErrorsMixin, forms.Form):
    kpi_code = forms.ChoiceField(label="KPI")
    direction = forms.ChoiceField(choices=Direction.choices)
    target = forms.CharField(max_length=20, help_text="In the KPI's unit (%, days, minutes, count or $).")
    baseline = forms.CharField(max_length=20, help_text="Where it stood when the period began.")
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)
    provider = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        org = user.organization_id
        self.fields["kpi_code"].choices = registry.choices()
        self.fields["department"].queryset = Department.objects.filter(organization_id=org).order_by("name")
        self.fields["location"].queryset = Location.objects.filter(organization_id=org).order_by("name")
        self.fields["provider"].queryset = User.objects.filter(organization_id=org, is_active=True).order_by(
            "last_name", "first_name")


class RowsForm(forms.Form):
    start = forms.DateField(widget=DATE_WIDGET)
    end = forms.DateField(widget=DATE_WIDGET)
    department = forms.IntegerField(required=False, min_value=1)
    location = forms.IntegerField(required=False, min_value=1)
    provider = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                self.add_error("end", "The period ends before it starts.")
            elif (data["end"] - data["start"]).days > 366 * 2:
                self.add_error("end", "A period is at most two years.")
        return data


class MonthForm(forms.Form):
    month = forms.DateField(input_formats=["%Y-%m"], required=False, help_text="YYYY-MM")
