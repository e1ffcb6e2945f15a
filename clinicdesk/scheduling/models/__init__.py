from .appointments import Appointment, RecurringSeries
from .availability import (
    WEEKDAYS,
    AppointmentType,
    AvailabilityBlock,
    AvailabilityTemplate,
    Equipment,
    LocationSchedule,
    ScheduleException,
)
from .front_desk import PhoneCall, Recall, RecallRule, WaitlistEntry, WaitlistOffer
from .online import CalendarFeed, OnlineBookingRequest

__all__ = [
    "WEEKDAYS",
    "Appointment",
    "AppointmentType",
    "AvailabilityBlock",
    "AvailabilityTemplate",
    "CalendarFeed",
    "Equipment",
    "LocationSchedule",
    "OnlineBookingRequest",
    "PhoneCall",
    "Recall",
    "RecallRule",
    "RecurringSeries",
    "ScheduleException",
    "WaitlistEntry",
    "WaitlistOffer",
]
