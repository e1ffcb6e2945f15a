"""Statuses and kinds of the billing app: every one a choice, never a magic string."""

from django.db import models

# --- code sets and fee schedules ---------------------------------------------------------------------------


class CodeSystem(models.TextChoices):
    """Procedure code sets a practice imports itself (CPT is licensed by the AMA; HCPCS Level II is CMS's)."""

    CPT = "CPT", "CPT"
    HCPCS = "HCPCS", "HCPCS Level II"


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


class PlanFrequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    BIWEEKLY = "biweekly", "Every two weeks"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Paid off"
    BROKEN = "broken", "Broken (missed installments)"
    CANCELLED = "cancelled", "Cancelled"


class InstallmentState(models.TextChoices):
    """Decided from the account's payments, never stored."""

    PAID = "paid", "Paid"
    PARTLY_PAID = "partly_paid", "Partly paid"
    DUE = "due", "Due"
    MISSED = "missed", "Missed"


class AutopayAttemptStatus(models.TextChoices):
    """What one autopay charge of a plan installment came to."""

    CHARGED = "charged", "Charged"
    DECLINED = "declined", "Declined"
    FAILED = "failed", "Processor did not answer"


# The communications link action of the pay link (communications.LinkAction has no PAY choice yet).
PAY_LINK_ACTION = "pay"


# --- statements, day close and reports ---------------------------------------------------------------------


class StatementRunStatus(models.TextChoices):
    """A month-end statement run: previewed as a draft, then made and sent by a background task."""

    DRAFT = "draft", "Draft (previewed, not started)"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class StatementDelivery(models.TextChoices):
    EMAIL = "email", "E-mail (secure link)"
    PRINT = "print", "Print and mail"


class StatementStatus(models.TextChoices):
    """What became of one statement of a run."""

    EMAILED = "emailed", "Sent by e-mail"
    PRINT = "print", "In the print batch"


class DunningLevel(models.IntegerChoices):
    """How far an unpaid balance has gone: each statement of an unpaid cycle may raise it, a paid balance resets
    it. At collections hold the account gets no more statements until the hold is lifted."""

    NONE = 0, "No notice"
    FIRST = 1, "First notice"
    SECOND = 2, "Second notice"
    FINAL = 3, "Final notice"
    COLLECTIONS = 4, "Collections hold"


class StatementSkipReason(models.TextChoices):
    """Why an account with a balance got no statement in a run."""

    BELOW_MINIMUM = "below_minimum", "Balance below the minimum for a statement"
    COLLECTIONS_HOLD = "collections_hold", "On collections hold"
    RECENT = "recent", "Had a statement recently"
    CREDIT = "credit", "Credit balance (the practice owes the guarantor)"
    WRITTEN_OFF = "written_off", "Small balance written off"
    HOLD_PLACED = "hold_placed", "Placed on collections hold by this run"
    NO_ADDRESS = "no_address", "No e-mail allowed and no mailing address"
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


# --- card payouts ------------------------------------------------------------------------------------------


class CardPayoutStatus(models.TextChoices):
    """A processor payout as reconciled here: waiting while any line is an exception, then posted (or posted with
    its exceptions accepted by a manager)."""

    EXCEPTIONS = "exceptions", "Has exceptions"
    POSTED = "posted", "Reconciled and posted"
    ACCEPTED = "accepted", "Posted, exceptions accepted"


class PayoutLineKind(models.TextChoices):
    """A balance transaction of a payout (Stripe's type words)."""

    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    OTHER = "adjustment", "Other"


class PayoutLineMatch(models.TextChoices):
    """How a payout line compares with our card payments and refunds."""

    MATCHED = "matched", "Matched"
    UNKNOWN = "unknown", "Not one of our card payments"
    AMOUNT_DIFFERS = "amount_differs", "Amount differs"
    NOT_POSTED = "not_posted", "Our payment is not posted"
    DUPLICATE = "duplicate", "Already in another payout"
    OTHER = "other", "Not a charge or refund"
