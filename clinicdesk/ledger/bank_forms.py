"""Forms of the bank pages: bank accounts, statement import with its column mapping, matching, reconciliation and
recurring bills. They parse what people type; the services decide what is allowed."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Department

from .choices import AccountType, Frequency
from .forms import DATE_WIDGET, AccountChoiceField, _accounts
from .models import Account

MONEY_FIELD = {"max_digits": 14, "decimal_places": 2}


class BankAccountForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=120, widget=forms.TextInput(attrs={"autofocus": True}),
                           help_text="What the office calls it, e.g. Operating account.")
    institution = forms.CharField(label="Bank", max_length=120)
    last4 = forms.RegexField(label="Last four digits of the number", regex=r"^[0-9]{4}$", max_length=4,
                             error_messages={"invalid": "Give the last four digits (four digits)."},
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    account = AccountChoiceField(label="Ledger account", queryset=Account.objects.none(),
                                 help_text="The asset account the bank's money is booked to.")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = _accounts(organization_id, active_only=True).filter(
            account_type=AccountType.ASSET)


class BankAccountEditForm(BankAccountForm):
    """The same fields as when it was added, and whether it is still in use (a closed account keeps its history)."""

    is_active = forms.BooleanField(label="Open (in use)", required=False,
                                   help_text="Untick when the bank account is closed; its register and reconciliations stay.")

    def __init__(self, *args, bank_account, **kwargs):
        super().__init__(*args, organization_id=bank_account.organization_id, **kwargs)
        self.fields["name"].widget.attrs.pop("autofocus", None)
        # its own ledger account stays offered even if it has since been closed in the chart
        self.fields["account"].queryset = (self.fields["account"].queryset
                                           | Account.objects.filter(pk=bank_account.account_id)).distinct()


class StatementUploadForm(ServiceErrorsMixin, forms.Form):
    """The statement file and, for a CSV, which column is which (remembered for the next import)."""

    file = forms.FileField(label="Statement file (CSV, OFX or QFX)",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.ofx,.qfx,.txt"}))
    date_column = forms.CharField(label="Date column", max_length=80, required=False)
    description_column = forms.CharField(label="Description column", max_length=80, required=False)
    amount_column = forms.CharField(label="Amount column", max_length=80, required=False,
                                    help_text="Money in positive, money out negative. Or use debit and credit.")
    debit_column = forms.CharField(label="Debit (money out) column", max_length=80, required=False)
    credit_column = forms.CharField(label="Credit (money in) column", max_length=80, required=False)
    reference_column = forms.CharField(label="Reference or check number column", max_length=80, required=False)

    def mapping(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(f"{key}_column", "") for key in
                ("date", "description", "amount", "debit", "credit", "reference")}


class AutoMatchForm(forms.Form):
    pass


class MatchForm(forms.Form):
    statement_line = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    journal_lines = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the choices are the ledger lines the page offered; the service checks them again
        raw = self.data.getlist("journal_lines") if hasattr(self.data, "getlist") else []
        self.fields["journal_lines"].choices = [(v, v) for v in raw if str(v).isdigit()]


class StatementLineForm(forms.Form):
    statement_line = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class BankItemForm(ServiceErrorsMixin, forms.Form):
    """An entry for what only the bank knows: the other account (a fee's expense, interest's income)."""

    statement_line = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    account = AccountChoiceField(label="Account", queryset=Account.objects.none())
    memo = forms.CharField(label="Memo", max_length=200, required=False)

    def __init__(self, *args, organization_id: int, exclude_account_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        accounts = _accounts(organization_id, active_only=True).filter(
            account_type__in=[AccountType.EXPENSE, AccountType.REVENUE])
        self.fields["account"].queryset = accounts.exclude(pk=exclude_account_id) if exclude_account_id else accounts


class ReconcileForm(ServiceErrorsMixin, forms.Form):
    end_date = forms.DateField(label="Statement end date", widget=DATE_WIDGET)
    ending_balance = forms.DecimalField(label="Statement ending balance", **MONEY_FIELD,
                                        max_value=Decimal("999999999999.99"), min_value=Decimal("-999999999999.99"))


class UndoForm(forms.Form):
    reconciliation = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class RecurringBillForm(ServiceErrorsMixin, forms.Form):
    vendor = forms.CharField(label="Vendor", max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    account = AccountChoiceField(label="Expense account", queryset=Account.objects.none())
    department = forms.ModelChoiceField(label="Department", queryset=Department.objects.none(), required=False)
    amount = forms.DecimalField(label="Amount", **MONEY_FIELD, min_value=Decimal("0.01"),
                                max_value=Decimal("999999999999.99"))
    frequency = forms.ChoiceField(label="How often", choices=Frequency.choices)
    day_of_month = forms.IntegerField(label="Day of the month", min_value=1, max_value=31,
                                      help_text="A shorter month uses its last day.")
    terms_days = forms.IntegerField(label="Days to pay", min_value=0, max_value=365, initial=15)
    start_date = forms.DateField(label="Starts", widget=DATE_WIDGET)
    end_date = forms.DateField(label="Ends (optional)", widget=DATE_WIDGET, required=False)
    memo = forms.CharField(label="Memo", max_length=200, required=False)

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = _accounts(organization_id, active_only=True).filter(
            account_type=AccountType.EXPENSE)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id).order_by("name")


class BillsDueForm(forms.Form):
    days = forms.IntegerField(label="Due within (days)", min_value=0, max_value=366, required=False, initial=30)
