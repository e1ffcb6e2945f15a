"""Forms of the code set and fee schedule pages: they parse what people type; the services check the rules."""

from __future__ import annotations

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin, TableImportConfirmForm, TableImportForm

from .choices import CodeSystem
from .services.codes import FEE_COLUMNS


class CodeSearchForm(forms.Form):
    q = forms.CharField(label="Code or words", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))


class FeeScheduleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    is_default = forms.BooleanField(label="Default schedule (charges are priced from it)", required=False)
    notes = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class FeeImportForm(TableImportForm):
    """A fee schedule file and, when it has no code_system column, the code system of its codes."""

    code_system = forms.ChoiceField(label="Code system", required=False,
                                    choices=[("", "From the file's code_system column"), *CodeSystem.choices],
                                    initial=CodeSystem.CPT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, columns=FEE_COLUMNS, **kwargs)
        self.fields["file"].help_text += " Prices like 85.00."


class FeeImportConfirmForm(TableImportConfirmForm):
    """The previewed file and its code system, sent back to be imported (checked again in full)."""

    code_system = forms.ChoiceField(required=False, choices=[("", ""), *CodeSystem.choices], widget=forms.HiddenInput)
