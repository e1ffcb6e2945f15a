"""Forms of the ledger pages. They parse what people type; the ledger services decide what is allowed and their
field errors are put back on these fields."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.core.forms import ServiceErrorsMixin
from clinicdesk.core.models import Department
from clinicdesk.core.money import round_money

from .choices import AccountRole, AccountType, EntryKind, PartyKind
from .models import Account

MAX_AMOUNT = Decimal("1000000000000")  # what a line's column holds (14 digits, 2 after the point)
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Account) -> str:
        return f"{obj.code} {obj.name}" + ("" if obj.is_active else " (closed)")


def _accounts(organization_id: int, *, active_only: bool = False):
    accounts = Account.objects.filter(organization_id=organization_id).order_by("code")
    return accounts.filter(is_active=True) if active_only else accounts


def _departments(organization_id: int):
    return Department.objects.filter(organization_id=organization_id, is_active=True).order_by("name")


class AccountForm(ServiceErrorsMixin, forms.Form):
    """An account of the chart; `is_active` appears only when editing."""

    code = forms.CharField(label="Number", max_length=20, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    name = forms.CharField(max_length=120)
    account_type = forms.ChoiceField(label="Type", choices=AccountType.choices)
    role = forms.ChoiceField(label="Job for the services", choices=[("", "None"), *AccountRole.choices], required=False,
                             help_text="Services post by job (e.g. patient receivables), never by number.")
    parent = AccountChoiceField(label="Parent account", queryset=Account.objects.none(), required=False, empty_label="None")
    description = forms.CharField(max_length=300, required=False)
    is_active = forms.BooleanField(label="Open (untick to close the account)", required=False, initial=True)

    def __init__(self, *args, organization_id: int, account: Account | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        parents = _accounts(organization_id)
        if account is not None:
            parents = parents.exclude(pk=account.pk)
        self.fields["parent"].queryset = parents
        if account is None:
            del self.fields["is_active"]


class JournalFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label="To", required=False, widget=DATE_WIDGET)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *EntryKind.choices], required=False)
    account = AccountChoiceField(queryset=Account.objects.none(), required=False, empty_label="Any account")
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False, empty_label="Any department")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = _accounts(organization_id)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id).order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class DateRangeForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label="To", required=False, widget=DATE_WIDGET)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class AsOfForm(forms.Form):
    as_of = forms.DateField(label="As of", required=False, widget=DATE_WIDGET)

    def as_of_date(self):
        return (self.cleaned_data.get("as_of") if self.is_valid() else None) or timezone.localdate()


class AgingForm(AsOfForm):
    by = forms.ChoiceField(label="Group by", choices=[("patient", "Patient"), ("payer", "Payer")], required=False)
    party_kind = forms.ChoiceField(label="Owed by", choices=[("", "Default"), *PartyKind.choices], required=False)


class ReverseForm(forms.Form):
    reason = forms.CharField(label="Why is this entry reversed?", max_length=250,
                             widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))
    entry_date = forms.DateField(label="Reversal date", required=False, widget=DATE_WIDGET,
                                 help_text="Leave empty for today.")


def _amount(text: str, line: int, side: str) -> Decimal | None:
    text = (text or "").strip().replace(",", "").replace("$", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"Line {line}: the {side} '{text}' is not an amount.") from None
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT or round_money(value) != value:
        raise ValidationError(f"Line {line}: the {side} must be a positive amount in dollars and cents.")
    return value


class ManualEntryForm(ServiceErrorsMixin, forms.Form):
    """The head of a manual journal entry. Its lines come as parallel lists (`account`, `debit`, `credit`,
    `department`, `line_memo`), one item per row, so the page's script adds a row by copying one."""

    entry_date = forms.DateField(label="Date", widget=DATE_WIDGET)
    memo = forms.CharField(label="What the entry is for", max_length=300,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
                           help_text="Alt+N adds a line.")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization_id = organization_id
        self.accounts = list(_accounts(organization_id, active_only=True))
        self.departments = list(_departments(organization_id))
        self.rows: list[dict] = []
        self.lines: list[tuple[Account, Decimal, Department | None, str]] = []

    def clean(self):
        data = super().clean()
        if not self.is_bound:
            return data
        by_id = {str(a.pk): a for a in self.accounts}
        departments = {str(d.pk): d for d in self.departments}
        q = self.data
        accounts, debits, credits = q.getlist("account"), q.getlist("debit"), q.getlist("credit")
        depts, memos = q.getlist("department"), q.getlist("line_memo")
        count = max(len(accounts), len(debits), len(credits))
        errors: list[str] = []
        number = 0
        debit_total = credit_total = Decimal("0.00")
        for n in range(count):
            row = {
                "account": accounts[n] if n < len(accounts) else "", "debit": debits[n] if n < len(debits) else "",
                "credit": credits[n] if n < len(credits) else "", "department": depts[n] if n < len(depts) else "",
                "memo": (memos[n] if n < len(memos) else "")[:200],
            }
            if not (row["account"] or row["debit"].strip() or row["credit"].strip()):
                continue  # an empty row
            self.rows.append(row)
            number += 1
            try:
                debit = _amount(row["debit"], number, "debit")
                credit = _amount(row["credit"], number, "credit")
            except ValidationError as exc:
                errors.extend(exc.messages)
                continue
            account = by_id.get(row["account"])
            if account is None:
                errors.append(f"Line {number}: choose an account.")
                continue
            if bool(debit) == bool(credit):
                errors.append(f"Line {number}: enter a debit or a credit (one of them, not zero).")
                continue
            department = departments.get(row["department"]) if row["department"] else None
            if row["department"] and department is None:
                errors.append(f"Line {number}: unknown department.")
                continue
            amount = debit if debit else -credit
            debit_total += debit or 0
            credit_total += credit or 0
            self.lines.append((account, amount, department, row["memo"]))
        if not self.rows:
            self.rows = [{"account": "", "debit": "", "credit": "", "department": "", "memo": ""}] * 2
        if errors:
            raise ValidationError(errors)
        if len(self.lines) < 2:
            raise ValidationError("An entry needs at least two lines.")
        if debit_total != credit_total:
            side = "credit" if debit_total > credit_total else "debit"
            raise ValidationError(
                f"The entry does not balance: debits {debit_total:,.2f}, credits {credit_total:,.2f} over lines 1-{number}. "
                f"Add a {side} of {abs(debit_total - credit_total):,.2f} or correct a line."
            )
        return data


class PeriodForm(ServiceErrorsMixin, forms.Form):
    """A month to close or reopen (any day in it), and for a reopening, why."""

    month = forms.DateField(widget=forms.HiddenInput)
    reason = forms.CharField(label="Why is this month reopened?", max_length=300, required=False,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))


class YearForm(forms.Form):
    """The year of a statement (this year when left empty), for profit and loss and the cash summary."""

    year = forms.IntegerField(label="Year", required=False, min_value=2000, max_value=2100)

    def year_value(self) -> int:
        return (self.cleaned_data.get("year") if self.is_valid() else None) or timezone.localdate().year


class ProfitLossForm(YearForm):
    by = forms.ChoiceField(label="Columns", choices=[("month", "Months"), ("department", "Departments")], required=False)
    department = forms.ModelChoiceField(label="Department", queryset=Department.objects.none(), required=False,
                                        empty_label="All departments", help_text="For the month view.")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id).order_by("name")


class BudgetScopeForm(YearForm):
    """The department and year of the budget grid and of budget against actual."""

    department = forms.ModelChoiceField(label="Department", queryset=Department.objects.none(), required=False,
                                        empty_label="All departments")

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id).order_by("name")


BUDGET_FILE_MAX = 2 * 1024 * 1024


class BudgetImportForm(forms.Form):
    file = forms.FileField(label="Budget file (CSV or XLSX)",
                           help_text="Columns: department (code or name), account (number), month (2026-03), amount.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith((".csv", ".xlsx")):
            raise ValidationError("Upload a .csv or .xlsx file.")
        if upload.size > BUDGET_FILE_MAX:
            raise ValidationError("The file is larger than 2 MB.")
        return upload


class BillForm(ServiceErrorsMixin, forms.Form):
    vendor = forms.CharField(label="Vendor", max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    number = forms.CharField(label="Invoice number", max_length=60, required=False)
    bill_date = forms.DateField(label="Bill date", widget=DATE_WIDGET)
    due_date = forms.DateField(label="Due date", widget=DATE_WIDGET)
    account = AccountChoiceField(label="Expense account", queryset=Account.objects.none())
    department = forms.ModelChoiceField(label="Department", queryset=Department.objects.none(), required=False)
    amount = forms.DecimalField(label="Amount", max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    memo = forms.CharField(label="Memo", max_length=200, required=False)
    receipt = forms.FileField(label="Receipt (PDF or image)", required=False,
                              widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.tif,.tiff,.heic"}))

    def __init__(self, *args, organization_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = _accounts(organization_id, active_only=True).filter(
            account_type=AccountType.EXPENSE)
        self.fields["department"].queryset = Department.objects.filter(organization_id=organization_id).order_by("name")


class BillPayForm(forms.Form):
    bill = forms.IntegerField(widget=forms.HiddenInput)
    paid_on = forms.DateField(label="Paid on", widget=DATE_WIDGET)
    bank_account = forms.IntegerField(required=False, min_value=1, help_text="The bank account paid from.")


class PayrollImportForm(BudgetImportForm):
    file = forms.FileField(label="Payroll summary (CSV or XLSX)",
                           help_text="Columns: period (2026-03), department, gross wages, employer taxes, benefits.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}))


class VendorForm(ServiceErrorsMixin, forms.Form):
    """A vendor's name and the e-mail address its purchase orders go to."""

    name = forms.CharField(label="Name", max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    email = forms.EmailField(label="E-mail", required=False, max_length=254,
                             help_text="Where purchase orders are e-mailed; a new order takes it unless it names "
                                       "another.")
