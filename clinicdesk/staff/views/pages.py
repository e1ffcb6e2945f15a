"""What the staff pages share: the acting user's today, and the audited read of a staff record."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from clinicdesk.core.audit import audit_event


def today():
    return timezone.localdate()


def audit_read(request: HttpRequest, member, *, what: str) -> None:
    """Staff records are personal data: every page that shows one is recorded in the audit trail."""
    audit_event(action="staff.viewed", actor=request.user, target=member, summary=f"Viewed {what} of {member.full_name}")
