from django.db import models


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"
    ARRIVED = "arrived", "Arrived"
    ROOMED = "roomed", "Roomed"
    WITH_PROVIDER = "with_provider", "With provider"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Statuses that hold time on the calendar; the others free it.
LIVE_STATUSES = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.ROOMED,
    AppointmentStatus.WITH_PROVIDER,
    AppointmentStatus.COMPLETED,
)


class BookingChannel(models.TextChoices):
    PHONE = "phone", "Phone"
    WALK_IN = "walk_in", "Walk-in"
    ONLINE = "online", "Online"
    API = "api", "API"
    IN_PERSON = "in_person", "At the desk"


class ExceptionKind(models.TextChoices):
    """A change to a provider's or a location's usual hours."""

    VACATION = "vacation", "Vacation / away"
    BLOCKED = "blocked", "Blocked time"
    SICK = "sick", "Sick day"
    EXTRA = "extra", "Extra availability"


class TimeOfDay(models.TextChoices):
    ANY = "any", "Any time"
    MORNING = "morning", "Morning (before 12:00)"
    AFTERNOON = "afternoon", "Afternoon (12:00–17:00)"
    EVENING = "evening", "Evening (after 17:00)"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class CallReason(models.TextChoices):
    BOOK = "book", "Book an appointment"
    RESCHEDULE = "reschedule", "Reschedule"
    CANCEL = "cancel", "Cancel"
    BILLING = "billing", "Billing question"
    PRESCRIPTION = "prescription", "Prescription / refill"
    RESULTS = "results", "Test results"
    REFERRAL = "referral", "Referral"
    OTHER = "other", "Other"


class CallOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    BOOKED = "booked", "Appointment booked"
    MESSAGE_TAKEN = "message_taken", "Message taken"
    LEFT_VOICEMAIL = "left_voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    TRANSFERRED = "transferred", "Transferred"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a time"
    BOOKED = "booked", "Booked"
    REMOVED = "removed", "Removed"
    EXPIRED = "expired", "Expired"


class OfferStatus(models.TextChoices):
    PENDING = "pending", "Waiting for answer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn (slot taken)"


class RecallStatus(models.TextChoices):
    DUE = "due", "Due"
    CONTACTED = "contacted", "Contacted"
    BOOKED = "booked", "Booked"
    DISMISSED = "dismissed", "Dismissed"


class OnlineRequestStatus(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", "Waiting for e-mail verification"
    PENDING_APPROVAL = "pending_approval", "Waiting for office approval"
    BOOKED = "booked", "Booked"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"


class SeriesEditScope(models.TextChoices):
    THIS = "this", "This appointment"
    FOLLOWING = "following", "This and the following"
    ALL = "all", "All in the series"


class OfferReply(models.TextChoices):
    """The answer to a patient who replies to a waitlist offer; the label is what they are told."""

    BOOKED = "booked", "Thank you: the time is booked for you."
    ALREADY_BOOKED = "already_booked", "This time is already booked for you."
    TAKEN = "taken", "Sorry, that time has just been taken by someone else. You stay on the waitlist."
    EXPIRED = "expired", "Sorry, this offer has expired. You stay on the waitlist."
    DECLINED = "declined", "Thank you for letting us know. You stay on the waitlist."
    UNKNOWN = "unknown", "This link is not valid. Please call the office."
