"""What the technology pages share: today's date (the staff pages' own), and the round trip of a form through its
service (the product's own)."""

from __future__ import annotations

from clinicdesk.core.form_pages import form_round_trip
from clinicdesk.staff.views.pages import today

__all__ = ["form_round_trip", "today"]
