"""Forms of the day close and report pages: they parse what people type; the services and selectors check the rules."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Location

from .choices import CASH_DENOMINATIONS

DENOMINATION_LABELS = {"100": "$100 bills", "50": "$50 bills", "20": "$20 bills", "10": "$10 bills", "5": "$5 bills",
                       "2": "$2 bills", "1": "$1 bills", "0.25": "Quarters", "0.10": "Dimes", "0.05": "Nickels",
                       "0.01": "Pennies"}


def denomination_field_name(face: str) -> str:
    return "count_" + face.replace(".", "_")


class _LocationsMixin:
    def _locations(self, organization_id: int, *, required: bool) -> None:
        field = self.fields["location"]
        field.queryset = Location.objects.filter(organization_id=organization_id).order_by("name")
        field.required = required
        if not required:
            field.empty_label = "Every location"


def _date_input():
    return forms.DateInput(attrs={"type": "date"})


class PeriodForm(_LocationsMixin, forms.Form):
    start = forms.DateField(label="From", widget=_date_input())
    end = forms.DateField(label="To", widget=_date_input())
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)

    def __init__(self, *args, organization_id: int, with_location: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_location:
            self._locations(organization_id, required=False)
        else:
            del self.fields["location"]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "The end date is before the start date.")
        return data


def period_data(params, *, default_days: int = 0) -> dict:
    """The form's data: what the query string says, else this month (or the last `default_days` days)."""
    today = timezone.localdate()
    start = today - timedelta(days=default_days) if default_days else today.replace(day=1)
    return {"start": params.get("start") or start.isoformat(), "end": params.get("end") or today.isoformat(),
            "location": params.get("location", ""), "by": params.get("by") or "provider"}


class CollectionsForm(PeriodForm):
    by = forms.ChoiceField(label="Group by", choices=[("provider", "Provider"), ("department", "Department")])

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, organization_id=organization_id, with_location=False, **kwargs)


class DayForm(_LocationsMixin, forms.Form):
    on = forms.DateField(label="Day", widget=_date_input())
    location = forms.ModelChoiceField(queryset=Location.objects.none())

    def __init__(self, *args, organization_id: int, location_required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._locations(organization_id, required=location_required)


def day_data(params, *, default_location: Location | None) -> dict:
    return {"on": params.get("on") or timezone.localdate().isoformat(),
            "location": params.get("location") or (default_location.pk if default_location else "")}


class DayCloseForm(ServiceErrorsMixin, forms.Form):
    """The drawer count: how many of each bill and coin, which of the day's checks are in hand, and the reasons."""

    checks_in_hand = forms.MultipleChoiceField(label="Checks in the drawer", required=False,
                                               widget=forms.CheckboxSelectMultiple)
    over_short_reason = forms.CharField(label="Why the count is over or short", required=False, max_length=300)
    missing_checks_reason = forms.CharField(label="Why a check is not in the drawer", required=False, max_length=300)

    def __init__(self, *args, checks, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {}
        for face in CASH_DENOMINATIONS:
            fields[denomination_field_name(face)] = forms.IntegerField(
                label=DENOMINATION_LABELS[face], min_value=0, max_value=100_000, required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": "0", "step": "1",
                                                "data-face": face, "class": "count"}))
        fields.update(self.fields)
        self.fields = fields
        self.fields["checks_in_hand"].choices = [
            (str(c.pk), f"Check {c.check_number} · {c.account.guarantor_name} · ${c.amount}") for c in checks]
        self.fields["checks_in_hand"].initial = [str(c.pk) for c in checks]

    @property
    def count_fields(self):
        return [self[denomination_field_name(face)] for face in CASH_DENOMINATIONS]

    def denominations(self) -> dict[str, int]:
        return {face: self.cleaned_data.get(denomination_field_name(face)) or 0 for face in CASH_DENOMINATIONS}


class DrawerForm(_LocationsMixin, ServiceErrorsMixin, forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    name = forms.CharField(max_length=80, initial="Front desk")
    opening_float = forms.CharField(label="Opening float", max_length=20, initial="100.00",
                                    help_text="Cash left in the drawer for change, e.g. 100.00.")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._locations(organization_id, required=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class NoteForm(forms.Form):
    note = forms.CharField(max_length=300, required=False)


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class PayoutFilterForm(forms.Form):
    """The card payouts list's filters: status and arrival dates."""

    status = forms.ChoiceField(required=False, choices=[("", "Any")])
    start = forms.DateField(required=False, label="Arriving from", widget=_date_input())
    end = forms.DateField(required=False, label="Arriving to", widget=_date_input())

    def __init__(self, *args, **kwargs):
        from .choices import CardPayoutStatus

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Any"), *CardPayoutStatus.choices]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "The end date is before the start date.")
        return data
