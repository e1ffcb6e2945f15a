"""Forms of patient accounts, payments and payment plans. Amounts are typed as text and checked by the services
(`money_check`), so the message names the field and a float never touches an amount."""

from __future__ import annotations

import secrets

from django import forms
from django.core.exceptions import ValidationError

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.tables import MAX_IMPORT_BYTES

from .choices import AdjustmentKind, PaymentMethod, PaymentStatus, PlanFrequency, RefundMethod
from .services.payments import drawer_location_message


def new_idempotency_key() -> str:
    return "form-" + secrets.token_urlsafe(18)


AMOUNT_ATTRS = {"inputmode": "decimal", "autocomplete": "off", "pattern": r"[0-9$,]*(\.[0-9]{1,2})?"}


class PaymentForm(ServiceErrorsMixin, forms.Form):
    """Take a payment at the desk. The card fields go to the processor and are never stored; the idempotency key
    was minted when the form was shown, so a double submit replays the first answer."""

    method = forms.ChoiceField(choices=PaymentMethod.choices, widget=forms.RadioSelect, initial=PaymentMethod.CASH)
    amount = forms.CharField(max_length=20, widget=forms.TextInput(attrs=AMOUNT_ATTRS), help_text="e.g. 25.00")
    check_number = forms.CharField(max_length=20, required=False, label="Check number")
    card_number = forms.CharField(max_length=23, required=False, label="Card number",
                                  widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))
    card_expiry = forms.CharField(max_length=7, required=False, label="Expiry (MM/YY)",
                                  widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "MM/YY"}))
    card_cvc = forms.CharField(max_length=4, required=False, label="Security code",
                               widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))
    payment_method_id = forms.CharField(max_length=80, required=False, label="Or a saved card (processor id)",
                                        help_text="A card the patient saved with the processor, e.g. pm_…")
    allocation = forms.ChoiceField(choices=[("oldest", "Oldest charges first"), ("chosen", "The amounts I enter below")],
                                   initial="oldest", widget=forms.RadioSelect, label="Apply to")
    allow_credit = forms.BooleanField(required=False, label="Keep anything over the balance as a credit on the account")
    patient = forms.ChoiceField(required=False, label="For patient")
    location = forms.ChoiceField(required=False, label="Taken at", help_text="Cash and checks go in this location's drawer.")
    memo = forms.CharField(max_length=200, required=False)
    is_copay = forms.BooleanField(required=False, widget=forms.HiddenInput)
    appointment = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, charges=(), members=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.charges = list(charges)
        self.locations = {str(loc.pk): loc for loc in locations}
        self.fields["location"].choices = [("", "No location (in no drawer)")] + [
            (key, loc.name) for key, loc in self.locations.items()]
        self.fields["patient"].choices = [("", "The account")] + [(m.patient.public_id, f"{m.patient.first_name} "
                                                                   f"{m.patient.last_name}") for m in members]
        for charge in self.charges:
            self.fields[f"alloc_{charge.item.pk}"] = forms.CharField(
                required=False, max_length=20, label=f"{charge.item.service_date:%m/%d/%Y} {charge.item.description}",
                widget=forms.TextInput(attrs=AMOUNT_ATTRS))

    def allocation_fields(self):
        return [(charge, self[f"alloc_{charge.item.pk}"]) for charge in self.charges]

    def clean(self):
        data = super().clean()
        method = data.get("method")
        if method == PaymentMethod.CHECK and not (data.get("check_number") or "").strip():
            self.add_error("check_number", "Enter the check number.")
        if method == PaymentMethod.CARD and not data.get("payment_method_id") and not data.get("card_number"):
            self.add_error("card_number", "Enter the card number, or a saved card.")
        data["location"] = self.locations.get(data.get("location") or "")
        if method in (PaymentMethod.CASH, PaymentMethod.CHECK) and data["location"] is None:
            # Cash and checks without a location are in no drawer and no day close: with several locations the
            # desk must say which drawer; with one, it is that one.
            if len(self.locations) > 1:
                self.add_error("location", drawer_location_message(method))
            elif len(self.locations) == 1:
                data["location"] = next(iter(self.locations.values()))
        return data

    def chosen_amounts(self) -> list[tuple[object, str]]:
        """(open item, amount text) for every charge given an amount, when the desk chose the charges."""
        if self.cleaned_data.get("allocation") != "chosen":
            return []
        return [(charge.item, self.cleaned_data.get(f"alloc_{charge.item.pk}", "").strip())
                for charge in self.charges if self.cleaned_data.get(f"alloc_{charge.item.pk}", "").strip()]


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(max_length=200, label="Reason")


class RefundForm(ServiceErrorsMixin, forms.Form):
    amount = forms.CharField(max_length=20, widget=forms.TextInput(attrs=AMOUNT_ATTRS))
    method = forms.ChoiceField(choices=RefundMethod.choices)
    reason = forms.CharField(max_length=200)
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, card: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if card:
            self.fields["method"].choices = [(RefundMethod.CARD, RefundMethod.CARD.label)]
        else:
            self.fields["method"].choices = [c for c in RefundMethod.choices if c[0] != RefundMethod.CARD]


class AdjustmentForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(choices=AdjustmentKind.choices)
    amount = forms.CharField(max_length=20, widget=forms.TextInput(attrs=AMOUNT_ATTRS))
    reason = forms.CharField(max_length=200)


class CreditApplyForm(ServiceErrorsMixin, forms.Form):
    patient = forms.ChoiceField(label="Credit of")
    amount = forms.CharField(max_length=20, required=False, help_text="Leave empty for all of it.",
                             widget=forms.TextInput(attrs=AMOUNT_ATTRS))

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].choices = [(m.patient.public_id, f"{m.patient.first_name} {m.patient.last_name}")
                                          for m in members]


class MemberMoveForm(ServiceErrorsMixin, forms.Form):
    patient = forms.ChoiceField(label="Move")
    to_account = forms.CharField(max_length=20, label="To account number")

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].choices = [(m.patient.public_id, f"{m.patient.first_name} {m.patient.last_name}")
                                          for m in members]


class PaymentFilterForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.ChoiceField(required=False, choices=[("", "Any")] + PaymentMethod.choices)
    status = forms.ChoiceField(required=False, choices=[("", "Any")] + PaymentStatus.choices)
    copay = forms.ChoiceField(required=False, choices=[("", "Any"), ("yes", "Copays only"), ("no", "Not copays")])


class PlanForm(ServiceErrorsMixin, forms.Form):
    total = forms.CharField(max_length=20, widget=forms.TextInput(attrs=AMOUNT_ATTRS))
    installment_amount = forms.CharField(max_length=20, required=False, widget=forms.TextInput(attrs=AMOUNT_ATTRS),
                                         help_text="Or give the number of installments.")
    installments = forms.IntegerField(required=False, min_value=1, max_value=120, label="Number of installments")
    frequency = forms.ChoiceField(choices=PlanFrequency.choices, initial=PlanFrequency.MONTHLY)
    start_date = forms.DateField(label="First installment due", widget=forms.DateInput(attrs={"type": "date"}))
    autopay_payment_method_id = forms.CharField(max_length=80, required=False, label="Autopay card (processor id)")
    notes = forms.CharField(max_length=300, required=False)


class PayLinkForm(ServiceErrorsMixin, forms.Form):
    """The patient's card form on the pay link."""

    amount = forms.CharField(max_length=20, widget=forms.TextInput(attrs=AMOUNT_ATTRS))
    card_number = forms.CharField(max_length=23, label="Card number",
                                  widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}))
    card_expiry = forms.CharField(max_length=7, label="Expiry (MM/YY)",
                                  widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY"}))
    card_cvc = forms.CharField(max_length=4, label="Security code",
                               widget=forms.PasswordInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}))
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)


class AutopayCardForm(ServiceErrorsMixin, forms.Form):
    """Another of the processor's stored cards for a plan: one the account has paid with, or a card id from the
    processor's terminal or hosted card form. Never a card number."""

    card_on_file = forms.ChoiceField(required=False, label="A card the account has paid with")
    payment_method_id = forms.CharField(max_length=80, required=False, label="Or a stored card's processor id",
                                        help_text="pm_… from the card terminal or the processor's card form")

    def __init__(self, *args, cards=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card_on_file"].choices = [("", "—")] + [(c["id"], c["label"]) for c in cards]

    def clean(self):
        data = super().clean()
        chosen = (data.get("payment_method_id") or "").strip() or data.get("card_on_file") or ""
        if not chosen:
            self.add_error("payment_method_id", "Choose a card on file or give a stored card's processor id.")
        data["chosen"] = chosen
        return data


class PaymentImportForm(ServiceErrorsMixin, forms.Form):
    """A lockbox or batch file of checks and cash (services/payment_import.py names the columns)."""

    file = forms.FileField(label="CSV file", help_text="Columns: reference, account, amount, method (check or cash), "
                           "check_number, and optionally received_on, patient (MRN), memo, allow_credit.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv", "autofocus": True}))
    location = forms.ChoiceField(required=False, label="Cash taken at",
                                 help_text="Cash rows go in this location's drawer; mailed checks need none.")

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [("", "—")] + [(str(loc.pk), loc.name) for loc in locations]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


class PaymentImportConfirmForm(forms.Form):
    """The previewed file, sent back to be posted (checked again in full: nothing trusted from the preview)."""

    content = forms.CharField(widget=forms.HiddenInput, max_length=MAX_IMPORT_BYTES, strip=False)
    file_name = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    location = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
