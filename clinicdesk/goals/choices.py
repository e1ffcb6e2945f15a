from django.db import models


class PeriodKind(models.TextChoices):
    QUARTER = "quarter", "Quarter"
    MONTH = "month", "Month"
    CUSTOM = "custom", "Custom dates"


class Direction(models.TextChoices):
    """Which side of the target is good."""

    AT_LEAST = "at_least", "At least"
    AT_MOST = "at_most", "At most"


class KeyResultStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    NO_DATA = "no_data", "No data"


class KpiUnit(models.TextChoices):
    PERCENT = "%", "Percent"
    DAYS = "days", "Days"
    MINUTES = "minutes", "Minutes"
    COUNT = "count", "Count"
    DOLLARS = "$", "Dollars"


class ScopeField(models.TextChoices):
    DEPARTMENT = "department", "Department"
    LOCATION = "location", "Location"
    PROVIDER = "provider", "Provider"
