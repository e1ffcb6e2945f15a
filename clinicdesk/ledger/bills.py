"""Vendor bills: entered with their receipt, they post the expense against accounts payable; paid, they post the
payment from the operating bank account. A bill dated in a closed month is refused by the posting, naming it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import Department, Organization
from clinicdesk.patients.services.documents import sniff_content_type

from .choices import AccountRole, AccountType, EntryKind
from .models import Account, BankAccount, Bill, Vendor
from .services import LineSpec, account_for, entry_post

RECEIPT_MAX_BYTES = 10 * 1024 * 1024


def vendor_for(*, organization: Organization, name: str, email: str = "") -> Vendor:
    """The practice's vendor of that name, added the first time it is named (with `email`, where its purchase
    orders go; an existing vendor's address is changed on its page, vendors.vendor_save)."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"vendor": "Name the vendor."})
    vendor = Vendor.objects.filter(organization=organization, name__iexact=name).first()
    return vendor or Vendor.objects.create(organization=organization, name=name[:120], email=email.strip())


@transaction.atomic
def bill_enter(*, organization: Organization, vendor_name: str, bill_date: date, due_date: date, account: Account,
               amount: Decimal, actor, number: str = "", department: Department | None = None, memo: str = "",
               receipt: UploadedFile | None = None, recurring=None) -> Bill:
    """Enter a vendor's bill: Dr the expense account (by department), Cr accounts payable, on the bill date."""
    errors: dict[str, str] = {}
    if account.organization_id != organization.pk or account.account_type != AccountType.EXPENSE:
        errors["account"] = "Choose one of the practice's expense accounts."
    if department is not None and department.organization_id != organization.pk:
        errors["department"] = "This department belongs to another practice."
    if due_date < bill_date:
        errors["due_date"] = "The bill cannot fall due before its date."
    if amount <= 0:
        errors["amount"] = "A bill's amount is more than zero."
    receipt_type = ""
    if receipt is not None:
        if receipt.size > RECEIPT_MAX_BYTES:
            errors["receipt"] = "The receipt is larger than 10 MB."
        else:
            try:
                receipt_type = sniff_content_type(receipt)
            except ValidationError as exc:
                errors["receipt"] = " ".join(exc.messages)
    if errors:
        raise ValidationError(errors)
    vendor = vendor_for(organization=organization, name=vendor_name)
    bill = Bill(organization=organization, vendor=vendor, number=number.strip()[:60], bill_date=bill_date,
                due_date=due_date, account=account, department=department, amount=amount, memo=memo.strip()[:200],
                receipt_type=receipt_type, created_by=actor, recurring=recurring)
    bill.full_clean(exclude=["receipt", "entry", "payment_entry", "created_by", "recurring"])
    bill.save()
    bill.entry = entry_post(
        organization=organization, entry_date=bill_date, kind=EntryKind.MANUAL, reference=f"bill:{bill.pk}",
        memo=f"Bill {bill.number or bill.pk} from {vendor.name}"[:300], actor=actor, lines=[
            LineSpec(account=account, amount=amount, department=department, memo=bill.memo),
            LineSpec(account=AccountRole.ACCOUNTS_PAYABLE, amount=-amount, memo=vendor.name),
        ])
    if receipt is not None:
        bill.receipt.save("receipt" + {"application/pdf": ".pdf", "image/png": ".png"}.get(receipt_type, ".img"),
                          receipt, save=False)
    bill.save(update_fields=["entry", "receipt", "updated_at"])
    audit_event(action="ledger.bill_entered", actor=actor, target=bill, organization_id=organization.pk,
                summary=f"Bill from {vendor.name} for {amount}, due {due_date:%m/%d/%Y}"[:300])
    return bill


@transaction.atomic
def bill_enter_received(*, organization: Organization, vendor: Vendor, number: str, bill_date: date, due_date: date,
                        amount: Decimal, received_value: Decimal, actor, department: Department | None = None,
                        memo: str = "") -> Bill:
    """Enter a vendor's bill for stock already received. Each receipt posted Dr Inventory, Cr accounts payable at the
    ordered cost, so the bill posts only its difference from `received_value` (a price variance, to the
    department's supplies expense); paying it clears the whole amount from accounts payable. The same vendor
    invoice number is never entered twice."""
    errors: dict[str, str] = {}
    number = (number or "").strip()[:60]
    if vendor.organization_id != organization.pk:
        errors["vendor"] = "This vendor belongs to another practice."
    if not number:
        errors["number"] = "Enter the vendor's invoice number."
    elif Bill.objects.filter(organization=organization, vendor=vendor, number__iexact=number).exists():
        errors["number"] = f"Bill {number} from {vendor.name} is already entered."
    if due_date < bill_date:
        errors["due_date"] = "The bill cannot fall due before its date."
    if amount <= 0:
        errors["amount"] = "A bill's amount is more than zero."
    if received_value <= 0:
        errors["amount"] = "Nothing received is waiting for a bill."
    if errors:
        raise ValidationError(errors)
    bill = Bill(organization=organization, vendor=vendor, number=number, bill_date=bill_date, due_date=due_date,
                account=account_for(organization, AccountRole.INVENTORY), department=department, amount=amount,
                memo=memo.strip()[:200], created_by=actor)
    bill.full_clean(exclude=["receipt", "entry", "payment_entry", "created_by", "recurring"])
    bill.save()
    variance = amount - received_value
    if variance:
        bill.entry = entry_post(
            organization=organization, entry_date=bill_date, kind=EntryKind.MANUAL, reference=f"bill:{bill.pk}",
            memo=f"Bill {number} from {vendor.name}: price difference on stock received"[:300], actor=actor, lines=[
                LineSpec(account=AccountRole.SUPPLIES_EXPENSE, amount=variance, department=department, memo=bill.memo),
                LineSpec(account=AccountRole.ACCOUNTS_PAYABLE, amount=-variance, memo=vendor.name),
            ])
        bill.save(update_fields=["entry", "updated_at"])
    audit_event(action="ledger.bill_entered", actor=actor, target=bill, organization_id=organization.pk,
                summary=f"Bill {number} from {vendor.name} for {amount} (received {received_value}), "
                        f"due {due_date:%m/%d/%Y}"[:300])
    return bill


@transaction.atomic
def bill_pay(*, bill: Bill, paid_on: date, actor, bank_account: BankAccount | None = None) -> Bill:
    """Pay a bill from a bank account (the operating account unless another is named): Dr accounts payable, Cr the
    bank, on the day paid."""
    bill = Bill.objects.select_for_update().select_related("vendor", "organization").get(pk=bill.pk)
    if bank_account is not None and (bank_account.organization_id != bill.organization_id or not bank_account.is_active):
        raise ValidationError({"bank_account": "Choose one of the practice's open bank accounts."})
    if bill.paid_on is not None:
        raise ValidationError({"bill": f"This bill was paid on {bill.paid_on:%m/%d/%Y}."})
    if paid_on < bill.bill_date:
        raise ValidationError({"paid_on": "A bill cannot be paid before its date."})
    bill.payment_entry = entry_post(
        organization=bill.organization, entry_date=paid_on, kind=EntryKind.PAYMENT, reference=f"bill-paid:{bill.pk}",
        memo=f"Paid bill {bill.number or bill.pk} to {bill.vendor.name}"[:300], actor=actor, lines=[
            LineSpec(account=AccountRole.ACCOUNTS_PAYABLE, amount=bill.amount, memo=bill.vendor.name),
            LineSpec(account=bank_account.account if bank_account else AccountRole.OPERATING_BANK, amount=-bill.amount),
        ])
    bill.paid_on = paid_on
    bill.save(update_fields=["payment_entry", "paid_on", "updated_at"])
    audit_event(action="ledger.bill_paid", actor=actor, target=bill, organization_id=bill.organization_id,
                summary=f"Bill from {bill.vendor.name} for {bill.amount} paid {paid_on:%m/%d/%Y}"[:300])
    return bill


def bills_due(*, user, days: int = 30) -> QuerySet:
    """Unpaid bills falling due within `days` from today, the overdue ones first (they are the oldest)."""
    until = timezone.localdate() + timedelta(days=max(0, days))
    return (Bill.objects.filter(organization_id=user.organization_id, paid_on__isnull=True, due_date__lte=until)
            .select_related("vendor", "account", "department").order_by("due_date", "id"))


def bill_list(*, user, status: str = "") -> QuerySet:
    """The practice's bills, soonest due first: `due` (unpaid), `overdue` (unpaid and past due) or `paid`."""
    bills = (Bill.objects.filter(organization_id=user.organization_id)
             .select_related("vendor", "account", "department"))
    if status == "due":
        bills = bills.filter(paid_on__isnull=True)
    elif status == "overdue":
        bills = bills.filter(paid_on__isnull=True, due_date__lt=timezone.localdate())
    elif status == "paid":
        bills = bills.filter(paid_on__isnull=False)
    return bills.order_by("paid_on", "due_date", "id") if status != "paid" else bills.order_by("-paid_on", "-id")
