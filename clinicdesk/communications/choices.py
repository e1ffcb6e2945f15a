"""Statuses and kinds of the communications app: every one a choice, never a magic string."""

from django.db import models


class MessageChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"


class MessageState(models.TextChoices):
    """Where a message is on its way to the patient. Suppressed: never sent (consent, no address...)."""

    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"
    SUPPRESSED = "suppressed", "Not sent"


# A message in one of these states will not change again except by a delivery receipt.
FINAL_STATES = frozenset({MessageState.DELIVERED, MessageState.FAILED, MessageState.BOUNCED, MessageState.SUPPRESSED})


class MessagePurpose(models.TextChoices):
    REMINDER = "reminder", "Appointment reminder"
    CONFIRMATION = "confirmation", "Booking confirmation"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
    RECALL = "recall", "Recall"
    CAMPAIGN = "campaign", "Campaign"
    STATEMENT = "statement", "Statement ready"
    BALANCE = "balance", "Balance reminder"
    LETTER = "letter", "Letter"
    GENERAL = "general", "Message"


class TemplateKind(models.TextChoices):
    LETTER = "letter", "Letter"
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"


class LetterStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    FINAL = "final", "Final"


class LetterDelivery(models.TextChoices):
    PRINTED = "printed", "Printed"
    EMAILED = "emailed", "E-mailed as a secure link"


class InboundAction(models.TextChoices):
    """What the office did with a patient's SMS reply."""

    CONFIRMED = "confirmed", "Confirmed the appointment"
    CANCELLED = "cancelled", "Cancelled the appointment"
    OPTED_OUT = "opted_out", "Opted out of text messages"
    OPTED_IN = "opted_in", "Opted back in to text messages"
    WAITLIST_YES = "waitlist_yes", "Took the offered time"
    WAITLIST_NO = "waitlist_no", "Declined the offered time"
    NEEDS_STAFF = "needs_staff", "Needs a person to read it"


class LinkAction(models.TextChoices):
    CONFIRM = "confirm", "Confirm"
    CANCEL = "cancel", "Cancel"
    RESCHEDULE = "reschedule", "Reschedule"
    LETTER = "letter", "Read a letter"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"


class StaffTaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class StaffTaskKind(models.TextChoices):
    CALL = "call", "Call the patient"
    FOLLOW_UP = "follow_up", "Follow up"
    REVIEW = "review", "Review"
    OTHER = "other", "Other"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Sending"
    DONE = "done", "Sent"
    CANCELLED = "cancelled", "Cancelled"
