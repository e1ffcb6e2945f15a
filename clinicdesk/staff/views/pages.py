"""What the staff pages share: paging, the acting user's today, and the audited read of a staff record."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils import timezone

from clinicdesk.core.audit import audit_event

PAGE_SIZE = 50


def paged(request: HttpRequest, rows) -> tuple:
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return page, query.urlencode()


def today():
    return timezone.localdate()


def audit_read(request: HttpRequest, member, *, what: str) -> None:
    """Staff records are personal data: every page that shows one is recorded in the audit trail."""
    audit_event(action="staff.viewed", actor=request.user, target=member, summary=f"Viewed {what} of {member.full_name}")
