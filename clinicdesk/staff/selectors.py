"""Reads of staff records, credentials, onboarding and training, each scoped to one organization."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .models import Credential


def _lapse_message(credential: Credential, *, start: date) -> str:
    label = credential.label
    if credential.expires_on < start:
        return f"{label} expired {credential.expires_on.isoformat()}"
    return f"{label} expires {credential.expires_on.isoformat()}"


def credential_lapses(*, organization, staff_ids: Iterable[int], start: date, end: date) -> dict[int, list[str]]:
    """For each staff id, a message per required credential that has expired or expires before `end`
    ("RN licence NY expired 2026-10-31"); staff with nothing lapsed are left out. One query."""
    ids = list(staff_ids)
    lapses: dict[int, list[str]] = {}
    if not ids:
        return lapses
    credentials = Credential.objects.filter(
        organization=organization, staff_id__in=ids, required=True, expires_on__lt=end
    ).order_by("staff_id", "expires_on", "name", "pk")
    for credential in credentials:
        lapses.setdefault(credential.staff_id, []).append(_lapse_message(credential, start=start))
    return lapses
