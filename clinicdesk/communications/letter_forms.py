"""Forms of the letter composer, the letters list, letterheads and signatures."""

from __future__ import annotations

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Location, User

from .choices import LetterStatus
from .models import MessageTemplate

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj)


class LetterFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *LetterStatus.choices], required=False)
    q = forms.CharField(label="Patient, MRN or subject", required=False, max_length=100)
    template = forms.ChoiceField(label="Template", required=False, choices=[("", "Any template")])
    date_from = forms.DateField(label="From", required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label="To", required=False, widget=DATE_WIDGET)

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "Any template"), *((t.code, t.name) for t in templates)]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class LetterStartForm(ServiceErrorsMixin, forms.Form):
    template = forms.ModelChoiceField(queryset=MessageTemplate.objects.none(), label="Template",
                                      widget=forms.Select(attrs={"autofocus": True}))
    appointment = forms.ChoiceField(label="About the appointment", required=False)
    signer = PersonChoiceField(queryset=User.objects.none(), label="From (signed by)", required=False,
                               empty_label="The practice (no personal signature)")
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Letterhead of", required=False,
                                      empty_label="The practice's default")

    def __init__(self, *args, templates, appointments, signers, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates
        self.fields["appointment"].choices = [("", "None"), *appointments]
        self.fields["signer"].queryset = signers
        self.fields["location"].queryset = locations


class LetterEditForm(ServiceErrorsMixin, forms.Form):
    subject = forms.CharField(max_length=200)
    body_html = forms.CharField(
        label="Wording", max_length=60_000, widget=forms.Textarea(attrs={"rows": 22, "class": "code", "spellcheck": "true"}),
        help_text="Simple HTML: <p>, <strong>, <em>, <ul>/<ol> with <li>, <h2>, <h3>, tables and https links. "
                  "Anything else is removed when you save.",
    )
    signer = PersonChoiceField(queryset=User.objects.none(), label="From (signed by)", required=False,
                               empty_label="The practice (no personal signature)")
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Letterhead of", required=False,
                                      empty_label="The practice's default")

    def __init__(self, *args, signers, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signer"].queryset = signers
        self.fields["location"].queryset = locations


class LetterheadForm(ServiceErrorsMixin, forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False,
                                      empty_label="The practice's default (every location without its own)")
    practice_name = forms.CharField(max_length=200)
    address = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="One line per line of the address.")
    phone = forms.CharField(required=False, max_length=30)
    fax = forms.CharField(required=False, max_length=30)
    email = forms.EmailField(required=False)
    website = forms.CharField(required=False, max_length=200)
    footer = forms.CharField(required=False, max_length=300, help_text="Small print at the foot of each page.")
    accent_color = forms.CharField(label="Accent colour", max_length=7, initial="#0b5cad",
                                   widget=forms.TextInput(attrs={"type": "color"}))

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations


class SignatureForm(ServiceErrorsMixin, forms.Form):
    user = PersonChoiceField(queryset=User.objects.none(), label="Staff member")
    closing = forms.CharField(max_length=60, initial="Sincerely,")
    name_line = forms.CharField(label="Name line", max_length=120, help_text="e.g. Maria Chen, MD")
    credentials = forms.CharField(required=False, max_length=200,
                                  help_text="e.g. Board-certified in Family Medicine; NPI 1234567893")

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
