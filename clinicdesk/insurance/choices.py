"""Statuses and kinds of the insurance app: every one a choice, never a magic string."""

from django.db import models

# --- payers and coverage -----------------------------------------------------------------------------------


class ClaimFilingIndicator(models.TextChoices):
    """SBR09 on the 837P: what kind of insurance pays (X12 code list 1032, the ones offices bill)."""

    COMMERCIAL = "CI", "Commercial insurance"
    BLUE_CROSS = "BL", "Blue Cross/Blue Shield"
    HMO = "HM", "HMO"
    PPO = "12", "PPO"
    POS = "13", "Point of service (POS)"
    EPO = "14", "Exclusive provider organization (EPO)"
    MEDICARE_B = "MB", "Medicare Part B"
    MEDICARE_ADVANTAGE = "16", "Medicare Advantage (HMO)"
    MEDICAID = "MC", "Medicaid"
    TRICARE = "CH", "TRICARE (CHAMPUS)"
    VETERANS = "VA", "Veterans Affairs"
    WORKERS_COMP = "WC", "Workers' compensation"
    AUTOMOBILE = "AM", "Automobile medical"
    SELF_PAY = "09", "Self-pay"
    OTHER = "ZZ", "Other / unknown"


class ClearinghouseKind(models.TextChoices):
    """How claims and eligibility leave the office: the local test clearinghouse, or paper only."""

    LOCAL = "local", "Local test clearinghouse"
    PAPER = "paper", "Paper (CMS-1500 by mail)"


class CoverageRank(models.IntegerChoices):
    PRIMARY = 1, "Primary"
    SECONDARY = 2, "Secondary"
    TERTIARY = 3, "Tertiary"


class SubscriberRelationship(models.TextChoices):
    """The patient's relationship to the subscriber, as the 837P and 270 code it (SBR02 / PAT01 / INS02)."""

    SELF = "18", "Self"
    SPOUSE = "01", "Spouse"
    CHILD = "19", "Child"
    EMPLOYEE = "20", "Employee"
    LIFE_PARTNER = "53", "Life partner"
    OTHER = "G8", "Other relationship"


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"


# --- eligibility ---------------------------------------------------------------------------------------------


class EligibilityStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to be sent"
    SENT = "sent", "Sent, waiting for the answer"
    ACTIVE = "active", "Coverage active"
    INACTIVE = "inactive", "Coverage not active"
    REJECTED = "rejected", "Payer could not answer (see reason)"
    ERROR = "error", "Error"


# --- claims --------------------------------------------------------------------------------------------------


class ClaimStatus(models.TextChoices):
    """A claim's life; every change is a ClaimEvent and an audit row (see services.claims.claim_transition)."""

    DRAFT = "draft", "Draft"
    SCRUBBED = "scrubbed", "Scrubbed, ready to send"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted by the payer"
    REJECTED = "rejected", "Rejected (fix and resend)"
    PAID = "paid", "Paid"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    DENIED = "denied", "Denied"
    APPEALED = "appealed", "Appealed"
    CLOSED = "closed", "Closed"


# The moves a claim may make; anything else is refused with the claim's status named.
CLAIM_TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.DRAFT: frozenset({ClaimStatus.SCRUBBED, ClaimStatus.CLOSED}),
    ClaimStatus.SCRUBBED: frozenset({ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, ClaimStatus.CLOSED}),
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.ACCEPTED, ClaimStatus.REJECTED, ClaimStatus.PAID,
                                      ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED}),
    ClaimStatus.ACCEPTED: frozenset({ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED,
                                     ClaimStatus.REJECTED}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.DRAFT, ClaimStatus.CLOSED}),
    ClaimStatus.PAID: frozenset({ClaimStatus.CLOSED, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED,
                                 ClaimStatus.APPEALED}),
    ClaimStatus.PARTIALLY_PAID: frozenset({ClaimStatus.PAID, ClaimStatus.DENIED, ClaimStatus.APPEALED,
                                           ClaimStatus.CLOSED}),
    ClaimStatus.DENIED: frozenset({ClaimStatus.APPEALED, ClaimStatus.DRAFT, ClaimStatus.CLOSED, ClaimStatus.PAID,
                                   ClaimStatus.PARTIALLY_PAID}),
    ClaimStatus.APPEALED: frozenset({ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED,
                                     ClaimStatus.CLOSED}),
    ClaimStatus.CLOSED: frozenset(),
}
OPEN_CLAIM_STATUSES = frozenset(s for s in ClaimStatus.values if s != ClaimStatus.CLOSED)


class ClaimFrequency(models.TextChoices):
    """CLM05-3: an original claim, a replacement of one already sent, or voiding one."""

    ORIGINAL = "1", "Original"
    REPLACEMENT = "7", "Replacement (corrected claim)"
    VOID = "8", "Void"


class ClaimEventKind(models.TextChoices):
    STATUS = "status", "Status change"
    NOTE = "note", "Note"
    ASSIGNED = "assigned", "Assigned"
    SCRUB = "scrub", "Scrub result"
    ACK = "ack", "Acknowledgement"


class ScrubSeverity(models.TextChoices):
    ERROR = "error", "Error (blocks sending)"
    WARNING = "warning", "Warning"


class PayerRuleKind(models.TextChoices):
    """Payer-specific edits the office configures; each names the codes it applies to."""

    REQUIRE_MODIFIER = "require_modifier", "These codes need one of these modifiers"
    FORBID_CODE = "forbid_code", "The payer does not cover these codes"
    REQUIRE_AUTH = "require_auth", "These codes need a prior authorisation"
    MAX_UNITS = "max_units", "At most N units of these codes per day"
    REQUIRE_DIAGNOSIS_PREFIX = "require_dx", "These codes need a diagnosis starting with one of these prefixes"


# --- files that come and go ----------------------------------------------------------------------------------


class BatchStatus(models.TextChoices):
    BUILT = "built", "Built"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted (999)"
    PARTIAL = "partial", "Partly accepted (999)"
    REJECTED = "rejected", "Rejected (999)"


class TransactionKind(models.TextChoices):
    """X12 transactions the office sends and receives."""

    X270 = "270", "270 eligibility inquiry"
    X271 = "271", "271 eligibility answer"
    X837P = "837P", "837P professional claims"
    X999 = "999", "999 acknowledgement"
    X277CA = "277CA", "277CA claim acknowledgement"
    X835 = "835", "835 remittance"


class RemittanceStatus(models.TextChoices):
    POSTED = "posted", "Posted"
    EXCEPTIONS = "exceptions", "Posted, some claims wait in exceptions"
    FAILED = "failed", "Not posted (see message)"


class RemitClaimState(models.TextChoices):
    POSTED = "posted", "Posted to the claim"
    EXCEPTION = "exception", "Waiting in exceptions"
    RESOLVED = "resolved", "Resolved by hand"


class DenialReview(models.TextChoices):
    """A fully denied claim payment: nothing is written off until the biller decides what to do with the balance."""

    NONE = "", "Not a denial"
    PENDING = "pending", "Denied - in review"
    APPEALED = "appealed", "Appealed"
    WRITTEN_OFF = "written_off", "Written off"
    TRANSFERRED = "transferred", "Transferred to the patient"
    CLOSED = "closed", "Closed by a later remittance"


OPEN_DENIAL_REVIEWS = frozenset({DenialReview.PENDING, DenialReview.APPEALED})


class AdjustmentGroup(models.TextChoices):
    """CAS01: who carries an adjustment."""

    CONTRACTUAL = "CO", "Contractual obligation"
    PATIENT = "PR", "Patient responsibility"
    OTHER = "OA", "Other adjustment"
    PAYER_INITIATED = "PI", "Payer-initiated reduction"
    CORRECTION = "CR", "Correction and reversal"


# --- denials and contracts -----------------------------------------------------------------------------------


class AppealStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class ContractBasis(models.TextChoices):
    """How a contract states what the payer allows: its own fee list, or a percentage of a reference schedule."""

    FEE_LIST = "fee_list", "Fee list"
    PERCENT_OF_REFERENCE = "percent", "Percentage of a reference schedule"
