from django import forms

from .choices import AuditOutcome
from .permissions import ROLE_PERMISSIONS


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, label="User", help_text="Username")
    patient = forms.CharField(required=False, label="Patient", help_text="Name, MRN or patient number")
    action = forms.CharField(required=False, label="Action", help_text="e.g. patient.viewed or auth.")
    outcome = forms.ChoiceField(required=False, choices=[("", "Any")] + AuditOutcome.choices)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, label="Name", help_text="What the token is for, e.g. 'lab interface'.")
    days = forms.IntegerField(min_value=1, max_value=365, initial=90, label="Valid for (days)")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Scopes")

    def __init__(self, *args, role: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(code, code) for code in sorted(ROLE_PERMISSIONS.get(role, ()))]
