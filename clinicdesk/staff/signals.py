"""Domain signals staff sends upward; communications listens and tells the people concerned."""

from django.dispatch import Signal

# Sent once per credential and threshold (90, 60, 30 days; 0 when it has expired) with credential=, days=.
credential_expiring = Signal()
