"""Forms of the code set and fee schedule pages: they parse what people type; the services check the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.tables import MAX_IMPORT_BYTES

from .choices import CodeSystem


class CodeSearchForm(forms.Form):
    q = forms.CharField(label="Code or words", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))


class FeeScheduleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    is_default = forms.BooleanField(label="Default schedule (charges are priced from it)", required=False)
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class FeeImportForm(ServiceErrorsMixin, forms.Form):
    file = forms.FileField(label="CSV file", help_text="Columns: code, modifiers, description, price, effective_from, "
                           "effective_to (and optionally code_system). Prices like 85.00; dates as YYYY-MM-DD.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv", "autofocus": True}))
    code_system = forms.ChoiceField(label="Code system", required=False,
                                    choices=[("", "From the file's code_system column"), *CodeSystem.choices],
                                    initial=CodeSystem.CPT)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


class FeeImportConfirmForm(ServiceErrorsMixin, forms.Form):
    """The previewed file, sent back to be imported (checked again in full: nothing trusted from the preview)."""

    content = forms.CharField(widget=forms.HiddenInput, max_length=MAX_IMPORT_BYTES, strip=False)
    code_system = forms.ChoiceField(required=False, choices=[("", ""), *CodeSystem.choices], widget=forms.HiddenInput)
    file_name = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
