"""Forms of the payer rules pages: the list's filters, the rule itself and the claim to try it on. They parse what
people type; services.payer_rules checks each kind's values."""

from __future__ import annotations

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin

from .choices import PayerRuleKind, ScrubSeverity
from .models import Payer
from .selectors.payer_rules import EVERY_PAYER, claim_by_number

ACTIVE_CHOICES = [("", "Active and switched off"), ("yes", "Active"), ("no", "Switched off")]


class PayerRuleFilterForm(forms.Form):
    payer = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[])
    kind = forms.ChoiceField(required=False, label="Checks", choices=[("", "Every kind"), *PayerRuleKind.choices])
    active = forms.ChoiceField(required=False, label="State", choices=ACTIVE_CHOICES)

    def __init__(self, *args, payers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].choices = [("", "Any payer"), (EVERY_PAYER, "Rules for every payer")] + [
            (p.pk, p.name) for p in payers]

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        active = data.get("active")
        return {"payer_id": data.get("payer"), "kind": data.get("kind") or "",
                "active": None if not active else active == "yes"}


class PayerRuleForm(ServiceErrorsMixin, forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), required=False, empty_label="Every payer",
                                   widget=forms.Select(attrs={"autofocus": True}))
    kind = forms.ChoiceField(choices=PayerRuleKind.choices, label="What the rule checks")
    codes = forms.CharField(max_length=600, label="Procedure codes",
                            help_text="The CPT or HCPCS codes the rule is about, comma separated (e.g. 97110, 97140).")
    values = forms.CharField(max_length=300, required=False, label="Values",
                             help_text="Depends on what the rule checks; see the list beside the form.")
    message = forms.CharField(max_length=300, required=False, label="Note for the biller",
                              help_text="Shown with the finding, e.g. where the payer's policy says so.")
    severity = forms.ChoiceField(choices=ScrubSeverity.choices, initial=ScrubSeverity.ERROR, label="When it fails")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = Payer.objects.filter(organization_id=organization_id).order_by("name")


class RuleTryForm(forms.Form):
    claim = forms.CharField(max_length=20, label="Claim number", help_text="Any claim of the practice, e.g. from the "
                            "claims queue.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_claim(self):
        claim = claim_by_number(user=self.user, claim_number=self.cleaned_data["claim"])
        if claim is None:
            raise forms.ValidationError("No claim of the practice has that number.")
        return claim
