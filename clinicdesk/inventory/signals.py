"""Signals the inventory app declares for higher layers (communications sends the daily digest it hears)."""

from django.dispatch import Signal

# Sent once a day per practice with something to report: organization, alerts (selectors.Alerts), today.
stock_alerts_found = Signal()
