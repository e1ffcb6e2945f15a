"""Forms of the template pages. They parse what people type; the template services check the wording and
their field errors are put back on these fields."""

from __future__ import annotations

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin

from .choices import MessagePurpose, TemplateKind

BODY_WIDGET = forms.Textarea(attrs={"rows": 16, "class": "code", "spellcheck": "true"})


class TemplateFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "All kinds"), *TemplateKind.choices], required=False)
    active = forms.ChoiceField(choices=[("yes", "In use"), ("no", "Retired"), ("all", "All")], required=False)
    q = forms.CharField(label="Name or code", required=False, max_length=100)


class TemplateCreateForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    code = forms.SlugField(max_length=60, help_text="Lower-case letters, digits and dashes, e.g. post-op-instructions. "
                                                    "Reminder plans and campaigns find the template by it.")
    kind = forms.ChoiceField(choices=TemplateKind.choices)
    purpose = forms.ChoiceField(choices=MessagePurpose.choices, initial=MessagePurpose.GENERAL)
    subject = forms.CharField(max_length=200, required=False, help_text="E-mails and letters; merge fields allowed.")
    body = forms.CharField(max_length=20_000, widget=BODY_WIDGET,
                           help_text="Merge fields go in double braces: {{ patient.first_name }}. Blank lines make "
                                     "paragraphs.")


class TemplateVersionForm(ServiceErrorsMixin, forms.Form):
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(max_length=20_000, widget=BODY_WIDGET)
