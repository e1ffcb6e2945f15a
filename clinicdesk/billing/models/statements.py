"""Statements and collections: the dunning policy of a practice, month-end statement runs, the statements they
made (figures frozen at the run, the PDF as it was sent) and where each account stands in its unpaid cycle.

The PDF of a statement is stored (Django's storage API), not regenerated: it carries the pay link, whose token
is kept only as a hash, and it is the document the guarantor received. The figures are stored beside it so the
pages, the CSV and the history never have to open a PDF; neither changes after the run.
"""

import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinicdesk.core.models import Organization

from ..choices import DunningLevel, StatementDelivery, StatementRunStatus, StatementStatus
from .accounts import PatientAccount

MONEY = {"max_digits": 14, "decimal_places": 2}


def new_statement_public_id() -> str:
    return "stm_" + secrets.token_urlsafe(12)


def statement_pdf_path(instance: "Statement", filename: str) -> str:
    """A random name under the organization's folder: the file name says nothing about the guarantor."""
    return f"statements/{instance.organization_id}/{uuid.uuid4().hex}.pdf"


def print_batch_path(instance: "StatementRun", filename: str) -> str:
    return f"statements/{instance.organization_id}/batch-{uuid.uuid4().hex}.pdf"


class DunningPolicy(models.Model):
    """A practice's collection rules: when an unpaid balance gets the second and final notice and goes on
    collections hold (days after the first statement of the unpaid cycle), which small balances are written off,
    the smallest balance worth a statement, and the message printed at each level."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    second_notice_days = models.PositiveSmallIntegerField(default=30)
    final_notice_days = models.PositiveSmallIntegerField(default=60)
    collections_days = models.PositiveSmallIntegerField(default=90)
    write_off_below = models.DecimalField(**MONEY, default=Decimal("5.00"),
                                          help_text="Balances above zero and below this are written off...")
    write_off_min_age_days = models.PositiveSmallIntegerField(default=60, help_text="...once their newest charge is this old.")
    minimum_statement_balance = models.DecimalField(**MONEY, default=Decimal("5.00"))
    days_between_statements = models.PositiveSmallIntegerField(default=25, help_text="No second statement within this many days.")
    first_message = models.CharField(max_length=300, blank=True, default="")
    second_message = models.CharField(max_length=300, blank=True,
                                      default="Second notice: your balance is past due. Please pay or call us to arrange a plan.")
    final_message = models.CharField(max_length=300, blank=True,
                                     default="FINAL NOTICE: unless we hear from you, this account will be placed on "
                                             "collections hold. Please pay today or call our billing office.")
    collections_message = models.CharField(max_length=300, blank=True,
                                           default="This account is on collections hold. Please call our billing office.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization"]
        verbose_name_plural = "dunning policies"
        constraints = [
            models.CheckConstraint(condition=models.Q(second_notice_days__lt=models.F("final_notice_days"))
                                   & models.Q(final_notice_days__lt=models.F("collections_days")),
                                   name="billing_dunning_days_in_order"),
            models.CheckConstraint(condition=models.Q(write_off_below__gte=0) & models.Q(minimum_statement_balance__gte=0),
                                   name="billing_dunning_amounts_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Dunning policy of {self.organization}"

    def clean(self) -> None:
        if not (self.second_notice_days < self.final_notice_days < self.collections_days):
            raise ValidationError({"final_notice_days": "The days must grow: second notice, then final notice, then "
                                                        "collections hold."})
        if self.write_off_below is not None and self.write_off_below < 0:
            raise ValidationError({"write_off_below": "Enter zero or more."})
        if self.minimum_statement_balance is not None and self.minimum_statement_balance < 0:
            raise ValidationError({"minimum_statement_balance": "Enter zero or more."})

    def message_for(self, level: int) -> str:
        return {DunningLevel.FIRST: self.first_message, DunningLevel.SECOND: self.second_message,
                DunningLevel.FINAL: self.final_message, DunningLevel.COLLECTIONS: self.collections_message}.get(level, "")

    def level_after(self, days: int) -> int:
        """The level an unpaid cycle reaches `days` after its first statement."""
        if days >= self.collections_days:
            return DunningLevel.COLLECTIONS
        if days >= self.final_notice_days:
            return DunningLevel.FINAL
        if days >= self.second_notice_days:
            return DunningLevel.SECOND
        return DunningLevel.FIRST


class StatementRun(models.Model):
    """One statement run of a practice: the settings it used, its progress while the task runs, and its counts."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    statement_date = models.DateField()
    cutoff = models.DateField(help_text="Activity up to and including this date is on the statements.")
    status = models.CharField(max_length=10, choices=StatementRunStatus.choices, default=StatementRunStatus.DRAFT)
    minimum_balance = models.DecimalField(**MONEY)
    days_since_last = models.PositiveSmallIntegerField()
    preview = models.JSONField(default=dict, blank=True, help_text="The counts the preview showed when the run was made.")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    emailed_count = models.PositiveIntegerField(default=0)
    printed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    written_off_count = models.PositiveIntegerField(default=0)
    total_due = models.DecimalField(**MONEY, default=Decimal("0.00"))
    skipped = models.JSONField(default=list, blank=True, help_text="Accounts with a balance that got no statement, and why.")
    print_batch = models.FileField(upload_to=print_batch_path, max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-statement_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(cutoff__lte=models.F("statement_date")),
                                   name="billing_statement_run_cutoff_not_after_date"),
            models.CheckConstraint(condition=models.Q(progress_done__lte=models.F("progress_total")),
                                   name="billing_statement_run_progress_in_range"),
        ]

    def __str__(self) -> str:
        return f"Statements of {self.statement_date:%m/%d/%Y}"

    def clean(self) -> None:
        if self.cutoff and self.statement_date and self.cutoff > self.statement_date:
            raise ValidationError({"cutoff": "The cut-off cannot be after the statement date."})
        if self.minimum_balance is not None and self.minimum_balance < 0:
            raise ValidationError({"minimum_balance": "Enter zero or more."})

    @property
    def percent(self) -> int:
        return int(self.progress_done * 100 / self.progress_total) if self.progress_total else (100 if self.status == StatementRunStatus.DONE else 0)


class Statement(models.Model):
    """One guarantor's statement from one run: the figures as they were on the statement date (never changed
    afterwards), how it went out, and the PDF that was sent."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=24, unique=True, default=new_statement_public_id, editable=False)
    run = models.ForeignKey(StatementRun, on_delete=models.PROTECT, related_name="statements")
    account = models.ForeignKey(PatientAccount, on_delete=models.PROTECT, related_name="statements")
    statement_date = models.DateField()
    period_start = models.DateField(null=True, blank=True, help_text="The day after the previous statement's cut-off.")
    previous_balance = models.DecimalField(**MONEY)
    new_charges = models.DecimalField(**MONEY)
    insurance_adjusted = models.DecimalField(**MONEY, help_text="Insurance payments and contractual adjustments.")
    payments = models.DecimalField(**MONEY)
    adjustments = models.DecimalField(**MONEY)
    balance = models.DecimalField(**MONEY, help_text="What the guarantor owes at the cut-off.")
    insurance_pending = models.DecimalField(**MONEY, default=Decimal("0.00"))
    amount_due = models.DecimalField(**MONEY)
    aging_current = models.DecimalField(**MONEY)
    aging_31_60 = models.DecimalField(**MONEY)
    aging_61_90 = models.DecimalField(**MONEY)
    aging_91_120 = models.DecimalField(**MONEY)
    aging_over_120 = models.DecimalField(**MONEY)
    dunning_level = models.PositiveSmallIntegerField(choices=DunningLevel.choices)
    dunning_message = models.CharField(max_length=300, blank=True)
    delivery = models.CharField(max_length=8, choices=StatementDelivery.choices)
    status = models.CharField(max_length=10, choices=StatementStatus.choices)
    figures = models.JSONField(default=dict, help_text="The lines of the statement, per patient, as printed.")
    pdf = models.FileField(upload_to=statement_pdf_path, max_length=200)
    pdf_sha256 = models.CharField(max_length=64)
    message = models.ForeignKey("communications.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pay_link = models.ForeignKey("communications.ActionLink", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", help_text="The pay link printed on the statement.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-statement_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "account"], name="billing_statement_one_per_account_per_run"),
            models.CheckConstraint(condition=models.Q(amount_due__gt=0), name="billing_statement_amount_due_positive"),
        ]
        indexes = [models.Index(fields=["account", "statement_date"], name="billing_statement_account_date")]

    def __str__(self) -> str:
        return f"Statement {self.statement_date:%m/%d/%Y} for {self.account}"


class AccountDunning(models.Model):
    """Where an account stands in its unpaid cycle: the level reached, when the cycle's first statement went out,
    and the last statement. Kept beside PatientAccount so the account itself does not change shape."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    account = models.OneToOneField(PatientAccount, on_delete=models.CASCADE, related_name="dunning")
    level = models.PositiveSmallIntegerField(choices=DunningLevel.choices, default=DunningLevel.NONE)
    cycle_started_on = models.DateField(null=True, blank=True, help_text="The first statement of the unpaid cycle.")
    last_statement = models.ForeignKey(Statement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_statement_on = models.DateField(null=True, blank=True)
    level_changed_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account"]

    def __str__(self) -> str:
        return f"{self.account}: {self.get_level_display()}"
