"""Forms of the campaign pages: what to send, to whom, how fast."""

from django import forms

from clinicdesk.patients.choices import AdministrativeSex

from .choices import MessageChannel, TemplateKind
from .models import MessageTemplate


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For the office only, e.g. 'Flu shots October'.")
    channel = forms.ChoiceField(choices=MessageChannel.choices)
    template = forms.ModelChoiceField(queryset=MessageTemplate.objects.none(), help_text=(
        "E-mails must carry {{ links.unsubscribe_url }}; texts must say 'Reply STOP to opt out'."))
    per_minute = forms.IntegerField(min_value=1, max_value=600, initial=60, label="Messages per minute")
    age_min = forms.IntegerField(required=False, min_value=0, max_value=130, label="Age at least")
    age_max = forms.IntegerField(required=False, min_value=0, max_value=130, label="Age at most")
    sex = forms.ChoiceField(required=False, choices=[("", "Any"), *AdministrativeSex.choices])
    seen_since = forms.DateField(required=False, label="Seen on or after", widget=forms.DateInput(attrs={"type": "date"}))
    not_seen_since = forms.DateField(required=False, label="Not seen since", widget=forms.DateInput(attrs={"type": "date"}))
    visit_type = forms.CharField(required=False, max_length=40, label="Had a visit of type (code)")
    no_upcoming = forms.BooleanField(required=False, label="Only patients with no upcoming appointment")

    FILTER_FIELDS = ("age_min", "age_max", "sex", "seen_since", "not_seen_since", "visit_type", "no_upcoming")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MessageTemplate.objects.filter(
            organization=organization, is_active=True, kind__in=[TemplateKind.EMAIL, TemplateKind.SMS],
            current__isnull=False,
        ).order_by("kind", "name")

    def filters(self) -> dict:
        data = self.cleaned_data
        return {name: (data[name].isoformat() if hasattr(data.get(name), "isoformat") else data[name])
                for name in self.FILTER_FIELDS if data.get(name) not in (None, "", False)}
