"""Upward notifications of the schedule: communications and the waitlist listen to these.

Every signal is sent by the appointment and waitlist services through `transaction.on_commit`, so receivers only
ever hear about changes that were saved. Each carries `appointment=` (the saved row); `appointment_moved`
also carries `previous_starts_at`, `previous_ends_at` and `previous_provider_id`.
"""

from django.dispatch import Signal

# appointment=
appointment_booked = Signal()
# appointment=, previous_starts_at=, previous_ends_at=, previous_provider_id=
appointment_moved = Signal()
# appointment=
appointment_cancelled = Signal()
# appointment=, previous_status=
appointment_status_changed = Signal()
# offers=[WaitlistOffer, ...] just made for one freed time (communications tells the patients)
waitlist_offers_made = Signal()
