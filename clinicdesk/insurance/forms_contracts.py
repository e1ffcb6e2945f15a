"""Forms of the contract pages: they parse what people type; the services check the rules."""

from __future__ import annotations

import re
from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.tables import MAX_IMPORT_BYTES

from .choices import ContractBasis
from .models import Payer, ReferenceSchedule

DATE = forms.DateInput(attrs={"type": "date"})
MAX_ESTIMATE_CODES = 12
MAX_RANGE_DAYS = 3 * 366


class ReferenceScheduleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, help_text="e.g. Reference 2026, locality 01.",
                           widget=forms.TextInput(attrs={"autofocus": True}))
    effective_from = forms.DateField(widget=DATE)


class ContractForm(ServiceErrorsMixin, forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none())
    name = forms.CharField(max_length=120)
    basis = forms.ChoiceField(choices=ContractBasis.choices, initial=ContractBasis.FEE_LIST,
                              help_text="A fee list may also name a percentage of a reference schedule for codes it does not list.")
    reference_schedule = forms.ModelChoiceField(queryset=ReferenceSchedule.objects.none(), required=False)
    percent_of_reference = forms.DecimalField(label="Percent of the reference", required=False, max_digits=6,
                                              decimal_places=2, min_value=0, help_text="e.g. 115.00")
    effective_from = forms.DateField(widget=DATE)
    effective_to = forms.DateField(required=False, widget=DATE, help_text="Empty: until further notice.")
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = Payer.objects.filter(organization=organization).order_by("name")
        self.fields["reference_schedule"].queryset = ReferenceSchedule.objects.filter(organization=organization)

    def clean(self):
        data = super().clean()
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            self.add_error("effective_to", "The contract must end on or after the day it starts.")
        return data


class RateImportForm(ServiceErrorsMixin, forms.Form):
    file = forms.FileField(label="CSV file", help_text="Columns: code, modifiers, amount. Amounts like 85.00.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv", "autofocus": True}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


class RateImportConfirmForm(forms.Form):
    """The previewed file sent back to be imported (checked again in full)."""

    content = forms.CharField(widget=forms.HiddenInput, max_length=MAX_IMPORT_BYTES, strip=False)
    file_name = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)


class PeriodForm(forms.Form):
    start = forms.DateField(label="From (service date)", widget=DATE)
    end = forms.DateField(label="To", widget=DATE)

    def __init__(self, data=None, *args, **kwargs):
        today = timezone.localdate()
        if data is not None and not data.get("start") and not data.get("end"):
            data = data.copy()
            data["start"], data["end"] = (today - timedelta(days=365)).isoformat(), today.isoformat()
        super().__init__(data, *args, **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end is before the start.")
            elif (end - start).days > MAX_RANGE_DAYS:
                self.add_error("start", "Choose at most three years.")
        return data


class UnderpaymentFilterForm(PeriodForm):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), required=False, empty_label="All payers")

    def __init__(self, data=None, *args, organization, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.fields["payer"].queryset = Payer.objects.filter(organization=organization).order_by("name")


class PacketForm(PeriodForm):
    top = forms.IntegerField(label="Top codes", min_value=1, max_value=50, initial=10, required=False)


class EstimateForm(forms.Form):
    patient = forms.CharField(label="Patient MRN", max_length=20, widget=forms.TextInput(attrs={"autofocus": True}))
    codes = forms.CharField(label="Procedure codes", max_length=200, help_text="Comma separated, e.g. 99213, 36415.")
    on = forms.DateField(label="Visit date", widget=DATE)

    def clean_codes(self):
        codes = [c.upper() for c in re.split(r"[,\s]+", self.cleaned_data["codes"]) if c]
        bad = [c for c in codes if not re.fullmatch(r"[A-Z0-9]{5}", c)]
        if bad:
            raise ValidationError(f"Not procedure codes: {', '.join(bad)} (five letters or digits each).")
        if not codes:
            raise ValidationError("Name at least one procedure code.")
        if len(codes) > MAX_ESTIMATE_CODES:
            raise ValidationError(f"At most {MAX_ESTIMATE_CODES} codes.")
        return codes
