"""Forms of the payer set-up, coverage and authorisation pages: they parse what people type; the services check
the rules."""

from __future__ import annotations

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.tables import MAX_IMPORT_BYTES

from .choices import ClaimFilingIndicator, ClearinghouseKind, CoverageRank, Sex, SubscriberRelationship
from .models import Clearinghouse, InsurancePlan, Payer

DATE = forms.DateInput(attrs={"type": "date"})
MONEY = {"max_digits": 14, "decimal_places": 2, "required": False, "min_value": 0}


class ClearinghouseForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    kind = forms.ChoiceField(choices=ClearinghouseKind.choices)
    submitter_id = forms.CharField(label="Submitter ID", max_length=15)
    receiver_id = forms.CharField(label="Receiver ID", max_length=15)
    usage = forms.ChoiceField(choices=[("T", "Test"), ("P", "Production")])
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


class PayerForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    payer_identifier = forms.CharField(label="Payer ID", max_length=20)
    claim_filing_indicator = forms.ChoiceField(choices=ClaimFilingIndicator.choices)
    address_line1 = forms.CharField(max_length=200, required=False)
    address_line2 = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    state = forms.CharField(max_length=2, required=False)
    postal_code = forms.CharField(max_length=10, required=False)
    phone = forms.CharField(max_length=20, required=False)
    clearinghouse = forms.ModelChoiceField(queryset=Clearinghouse.objects.none(), required=False,
                                           empty_label="None: claims go on paper")
    timely_filing_days = forms.IntegerField(min_value=1, max_value=3650, initial=365)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clearinghouse"].queryset = Clearinghouse.objects.filter(organization_id=organization_id)


class PlanForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    claim_filing_indicator = forms.ChoiceField(choices=[("", "The payer's"), *ClaimFilingIndicator.choices],
                                               required=False)
    default_copay = forms.DecimalField(**MONEY)
    default_coinsurance_percent = forms.DecimalField(label="Default coinsurance %", max_digits=5, decimal_places=2,
                                                     required=False, min_value=0, max_value=100)
    default_deductible = forms.DecimalField(**MONEY)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


class PayerImportForm(ServiceErrorsMixin, forms.Form):
    file = forms.FileField(label="CSV file", help_text="Columns: payer_id, name, claim_filing_indicator, address_line1, "
                           "address_line2, city, state, postal_code, phone, clearinghouse (its name, or paper), "
                           "timely_filing_days. Only payer_id and name are required.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv", "autofocus": True}))


class PayerImportConfirmForm(forms.Form):
    """The previewed file, sent back to be imported (checked again in full)."""

    content = forms.CharField(widget=forms.HiddenInput, max_length=MAX_IMPORT_BYTES, strip=False)
    file_name = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)


class CoverageForm(ServiceErrorsMixin, forms.Form):
    payer = forms.ModelChoiceField(queryset=Payer.objects.none(), widget=forms.Select(attrs={"autofocus": True}))
    plan = forms.ModelChoiceField(queryset=InsurancePlan.objects.none(), required=False, empty_label="No plan named")
    rank = forms.TypedChoiceField(choices=CoverageRank.choices, coerce=int, initial=CoverageRank.PRIMARY)
    member_id = forms.CharField(label="Member ID", max_length=40)
    group_number = forms.CharField(max_length=40, required=False)
    group_name = forms.CharField(max_length=120, required=False)
    effective_from = forms.DateField(required=False, widget=DATE)
    effective_to = forms.DateField(required=False, widget=DATE)
    copay = forms.DecimalField(**MONEY, help_text="Empty: the plan's usual copay.")
    coinsurance_percent = forms.DecimalField(label="Coinsurance %", max_digits=5, decimal_places=2, required=False,
                                             min_value=0, max_value=100)
    deductible = forms.DecimalField(**MONEY)
    relationship = forms.ChoiceField(label="Patient's relationship to the subscriber",
                                     choices=SubscriberRelationship.choices, initial=SubscriberRelationship.SELF,
                                     help_text="Self: the subscriber details are the patient's.")
    subscriber_first_name = forms.CharField(max_length=80, required=False)
    subscriber_last_name = forms.CharField(max_length=80, required=False)
    subscriber_date_of_birth = forms.DateField(required=False, widget=DATE)
    subscriber_sex = forms.ChoiceField(choices=Sex.choices, initial=Sex.UNKNOWN)
    subscriber_address_line1 = forms.CharField(max_length=200, required=False)
    subscriber_city = forms.CharField(max_length=100, required=False)
    subscriber_state = forms.CharField(max_length=2, required=False)
    subscriber_postal_code = forms.CharField(max_length=10, required=False)

    def __init__(self, *args, organization_id: int, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payer"].queryset = Payer.objects.filter(organization_id=organization_id, is_active=True)
        self.fields["plan"].queryset = InsurancePlan.objects.filter(payer__organization_id=organization_id,
                                                                    is_active=True).select_related("payer")
        if editing:
            del self.fields["rank"]

    def clean(self):
        data = super().clean()
        if data.get("relationship") and data["relationship"] != SubscriberRelationship.SELF:
            for name in ("subscriber_first_name", "subscriber_last_name"):
                if not data.get(name):
                    self.add_error(name, "Name the subscriber (the policy holder).")
        return data


class CoverageEndForm(forms.Form):
    ended_on = forms.DateField(label="Last day covered", widget=DATE)


class CardUploadForm(ServiceErrorsMixin, forms.Form):
    side = forms.ChoiceField(choices=[("front", "Front"), ("back", "Back")])
    file = forms.FileField(label="Picture or scan of the card",
                           widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}))


class AuthorizationForm(ServiceErrorsMixin, forms.Form):
    number = forms.CharField(label="Authorisation number", max_length=50, widget=forms.TextInput(attrs={"autofocus": True}))
    procedure_codes = forms.CharField(max_length=200, help_text="Comma separated, e.g. 97110,97140.")
    units_authorized = forms.IntegerField(min_value=1, max_value=100000)
    units_used = forms.IntegerField(min_value=0, max_value=100000, initial=0)
    starts_on = forms.DateField(widget=DATE)
    ends_on = forms.DateField(widget=DATE)
    notes = forms.CharField(max_length=300, required=False)
