from .rosters import RosterAssignment, RosterFeed, RosterPeriod, ShiftChangeRequest, SolveProgress, SolveRun
from .setup import (
    WEEKDAY_CHOICES,
    Contract,
    CoverageNeed,
    ShiftPreference,
    ShiftType,
    TimeOffRequest,
    Unavailability,
)

__all__ = [
    "WEEKDAY_CHOICES",
    "Contract",
    "CoverageNeed",
    "RosterAssignment",
    "RosterFeed",
    "RosterPeriod",
    "ShiftChangeRequest",
    "ShiftPreference",
    "ShiftType",
    "SolveProgress",
    "SolveRun",
    "TimeOffRequest",
    "Unavailability",
]
