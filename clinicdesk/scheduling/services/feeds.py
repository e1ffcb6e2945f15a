"""Providers' private iCalendar feeds: a secret URL per provider that calendar apps subscribe to.

Only the SHA-256 of the URL's token is stored (like API tokens); the token is shown once. A provider has at
most one working feed: making a new one revokes the old. Calendar apps keep copies of what they fetch,
so an event carries the minimum: the visit type and the patient's initials, the place and the times (UTC).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import icalendar
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import AppointmentStatus
from ..models import Appointment, CalendarFeed
from .appointments import PROVIDER_ROLES

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=90)
PREFIX_LEN = 8
UID_DOMAIN = "clinicdesk"


def feed_token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def can_manage_feeds_of(actor: User, provider: User) -> bool:
    """A provider manages their own feed; the office manager and the administrator manage anyone's."""
    if not actor.is_authenticated or actor.organization_id is None or actor.organization_id != provider.organization_id:
        return False
    return actor.pk == provider.pk or actor.has_perm_code(Perm.SCHEDULE_MANAGE)


@transaction.atomic
def calendar_feed_create(*, actor: User, provider: User) -> tuple[CalendarFeed, str]:
    """Issue a new secret feed URL token for `provider` (the previous one stops working). Returns the token once."""
    if not can_manage_feeds_of(actor, provider):
        raise ValidationError({"provider": "No such provider."})
    if provider.role not in PROVIDER_ROLES or not provider.is_active:
        raise ValidationError({"provider": "Calendar feeds are for active providers (clinicians and nurses)."})
    for old in CalendarFeed.objects.select_for_update().filter(provider=provider, revoked_at__isnull=True):
        _revoke(old, actor=actor, summary="Calendar feed replaced by a new one")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(provider=provider, token_hash=feed_token_hash(token), prefix=token[:PREFIX_LEN])
    feed.full_clean()
    feed.save()
    audit_event(
        action="calendar_feed.created", actor=actor, target=feed, organization_id=provider.organization_id,
        summary=f"Calendar feed {feed.prefix}… created for {provider}",
    )
    return feed, token


def _revoke(feed: CalendarFeed, *, actor: User, summary: str) -> None:
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at", "updated_at"])
    audit_event(
        action="calendar_feed.revoked", actor=actor, target=feed, organization_id=feed.provider.organization_id, summary=summary,
    )


@transaction.atomic
def calendar_feed_revoke(*, actor: User, feed: CalendarFeed) -> CalendarFeed:
    """Stop a feed URL working at once."""
    if not can_manage_feeds_of(actor, feed.provider):
        raise ValidationError({"feed": "No such calendar feed."})
    if feed.revoked_at is None:
        _revoke(feed, actor=actor, summary=f"Calendar feed {feed.prefix}… revoked")
    return feed


def calendar_feed_by_token(*, token: str) -> CalendarFeed | None:
    """The working feed for a URL token: not revoked, its provider still active. None otherwise."""
    if not token or len(token) > 100:
        return None
    return (
        CalendarFeed.objects.select_related("provider")
        .filter(token_hash=feed_token_hash(token), revoked_at__isnull=True, provider__is_active=True)
        .first()
    )


def _initials(first_name: str, last_name: str) -> str:
    letters = [part[:1].upper() for part in (first_name.strip(), last_name.strip()) if part]
    return "".join(f"{letter}." for letter in letters) or "?"


@transaction.atomic
def calendar_feed_fetch(*, feed: CalendarFeed, now: datetime | None = None) -> bytes:
    """The feed's calendar as iCalendar bytes: the provider's appointments from 30 days back to 90 ahead.

    One audit event per fetch ("calendar_feed.fetched"), naming the feed and the number of events; the
    appointments' patients are not listed one by one (the feed shows only initials).
    """
    now = now or timezone.now()
    provider = feed.provider
    rows = (
        Appointment.objects.filter(
            provider=provider,
            organization_id=provider.organization_id,
            starts_at__lt=now + FEED_AHEAD,
            ends_at__gt=now - FEED_PAST,
        )
        .order_by("starts_at", "id")
        .values(
            "public_id", "starts_at", "ends_at", "status", "created_at", "updated_at",
            "appointment_type__name", "location__name", "patient__first_name", "patient__last_name",
        )
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//clinicdesk//provider calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"clinicdesk · {provider.get_full_name() or provider.username}")
    calendar.add("x-published-ttl", timedelta(minutes=15))
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    count = 0
    for row in rows:
        event = icalendar.Event()
        event.add("uid", f"appointment-{row['public_id']}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("created", row["created_at"])
        event.add("last-modified", row["updated_at"])
        event.add("dtstart", row["starts_at"])
        event.add("dtend", row["ends_at"])
        initials = _initials(row["patient__first_name"] or "", row["patient__last_name"] or "")
        event.add("summary", f"{row['appointment_type__name']} · {initials}")
        event.add("location", row["location__name"])
        cancelled = row["status"] == AppointmentStatus.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        event.add("class", "PRIVATE")
        calendar.add_component(event)
        count += 1
    feed.last_accessed_at = now
    feed.save(update_fields=["last_accessed_at"])
    audit_event(
        action="calendar_feed.fetched",
        target=feed,
        organization_id=provider.organization_id,
        actor_label=f"calendar feed {feed.prefix}… of {provider.get_username()}",
        channel=AuditChannel.EXPORT,
        summary=f"Calendar feed of {provider} fetched: {count} appointment{'' if count == 1 else 's'}",
    )
    return calendar.to_ical()
