"""Statuses and kinds of the billing app: every one a choice, never a magic string."""

from django.db import models

# --- code sets and fee schedules ---------------------------------------------------------------------------


class CodeSystem(models.TextChoices):
    """Procedure code sets a practice imports itself (CPT is licensed by the AMA; HCPCS Level II is CMS's)."""

    CPT = "CPT", "CPT"
    HCPCS = "HCPCS", "HCPCS Level II"


class ImportOutcome(models.TextChoices):
    """What one row of a fee schedule file does (or would do, in a dry run)."""

    NEW = "new", "New"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    ERROR = "error", "Error"


# --- encounters and charges ------------------------------------------------------------------------------


class EncounterStatus(models.TextChoices):
    """From the visit to the bill: coded by the clinician, reviewed by the biller, then posted as charges."""

    DRAFT = "draft", "Being coded"
    IN_REVIEW = "in_review", "Waiting for review"
    ON_HOLD = "on_hold", "On hold (needs a fix)"
    POSTED = "posted", "Charges posted"
    VOID = "void", "Voided"


# Where a service was given, as the claim form names it (CMS place-of-service codes used by offices).
class PlaceOfService(models.TextChoices):
    OFFICE = "11", "11 Office"
    HOME = "12", "12 Home"
    ASSISTED_LIVING = "13", "13 Assisted living facility"
    TELEHEALTH_HOME = "10", "10 Telehealth in patient's home"
    TELEHEALTH = "02", "02 Telehealth other than home"
    URGENT_CARE = "20", "20 Urgent care facility"
    INPATIENT = "21", "21 Inpatient hospital"
    OUTPATIENT = "22", "22 On campus outpatient hospital"
    EMERGENCY = "23", "23 Emergency room"
    NURSING_FACILITY = "32", "32 Nursing facility"
    SKILLED_NURSING = "31", "31 Skilled nursing facility"


# --- patient accounts and payments -------------------------------------------------------------------------


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHECK = "check", "Check"
    CARD = "card", "Card"


class PaymentStatus(models.TextChoices):
    """A declined card is kept (so a retried post replays the decline) but never reaches the ledger."""

    POSTED = "posted", "Posted"
    DECLINED = "declined", "Declined"
    VOIDED = "voided", "Voided"


class AdjustmentKind(models.TextChoices):
    """Why part of a balance is not collected; each kind posts to its own account."""

    COURTESY = "courtesy", "Courtesy discount"
    SMALL_BALANCE = "small_balance", "Small-balance write-off"
    BAD_DEBT = "bad_debt", "Bad debt (sent to collections)"
    CONTRACTUAL = "contractual", "Contractual adjustment"
    CORRECTION = "correction", "Billing correction"


class RefundMethod(models.TextChoices):
    CASH = "cash", "Cash from the drawer"
    CHECK = "check", "Check (mailed)"
    CARD = "card", "Back to the card"


class RefundStatus(models.TextChoices):
    PAID = "paid", "Paid"
    PENDING = "pending", "Check to be mailed"
    FAILED = "failed", "Failed at the processor"


# --- statements, day close and reports ---------------------------------------------------------------------


class DayCloseStatus(models.TextChoices):
    """A drawer's business day: open while the desk takes money, closed once counted and deposited, approved by
    the office manager when the count was over or short. Reopening returns it to open."""

    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    APPROVED = "approved", "Approved"


class DepositStatus(models.TextChoices):
    POSTED = "posted", "Posted"
    VOIDED = "voided", "Voided (day reopened)"


# Bills and coins a drawer is counted in, as strings of their face value (keys of DayClose.denominations).
CASH_DENOMINATIONS = ("100", "50", "20", "10", "5", "2", "1", "0.25", "0.10", "0.05", "0.01")
