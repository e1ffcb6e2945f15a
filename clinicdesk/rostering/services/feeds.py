"""Each person's secret iCalendar feed of their published shifts, in the location's time zone."""

from __future__ import annotations

import hashlib
import hmac
import zoneinfo
from datetime import datetime, timedelta

import icalendar
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import User
from clinicdesk.staff.models import StaffMember

from ..choices import PeriodStatus
from ..models import RosterAssignment, RosterFeed

SIGNATURE_CHARS = 32
UID_DOMAIN = "clinicdesk"


def _signature(key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"roster-feed:{key}".encode(), hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def feed_token(feed: RosterFeed) -> str:
    return f"{feed.key}.{_signature(feed.key)}"


def feed_url(feed: RosterFeed) -> str:
    return settings.PUBLIC_BASE_URL + reverse("rostering_public:feed", args=[feed_token(feed)])


def feed_for(*, staff: StaffMember) -> RosterFeed:
    """The person's working feed, made on first use."""
    feed = RosterFeed.objects.filter(staff=staff, revoked_at__isnull=True).first()
    if feed is None:
        feed = RosterFeed.objects.create(organization_id=staff.organization_id, staff=staff)
    return feed


def feeds_for(*, staff: list[StaffMember]) -> dict[int, RosterFeed]:
    """Working feeds for many people in two queries (publishing tells everyone their link)."""
    feeds = {f.staff_id: f for f in RosterFeed.objects.filter(staff__in=staff, revoked_at__isnull=True)}
    missing = [RosterFeed(organization_id=m.organization_id, staff=m) for m in staff if m.pk not in feeds]
    if missing:
        RosterFeed.objects.bulk_create(missing)
        feeds.update((f.staff_id, f) for f in RosterFeed.objects.filter(staff__in=staff, revoked_at__isnull=True))
    return feeds


@transaction.atomic
def feed_rotate(*, actor: User, staff: StaffMember) -> RosterFeed:
    """Revoke the person's feed address and make a new one (when it may have leaked)."""
    if staff.organization_id != actor.organization_id:
        raise ValidationError({"staff": "No such staff member."})
    RosterFeed.objects.filter(staff=staff, revoked_at__isnull=True).update(revoked_at=timezone.now())
    feed = RosterFeed.objects.create(organization_id=staff.organization_id, staff=staff)
    audit_event(action="roster_feed.rotated", actor=actor, target=feed, organization_id=staff.organization_id,
                summary=f"Roster calendar address of {staff} replaced")
    return feed


def feed_by_token(*, token: str) -> RosterFeed | None:
    """The working feed a URL token names, or None (unknown, forged or revoked)."""
    key, _, signature = (token or "").partition(".")
    if not key or len(token) > 100 or not hmac.compare_digest(signature, _signature(key)):
        return None
    return RosterFeed.objects.select_related("staff").filter(key=key, revoked_at__isnull=True).first()


@transaction.atomic
def feed_fetch(*, feed: RosterFeed, now: datetime | None = None) -> bytes:
    """The person's published shifts (60 days back, 120 ahead) as iCalendar, each in its location's time zone."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows = (
        RosterAssignment.objects.filter(staff_id=feed.staff_id, period__status=PeriodStatus.PUBLISHED,
                                        shift_type__isnull=False, day__gte=today - timedelta(days=60),
                                        day__lte=today + timedelta(days=120))
        .select_related("shift_type", "period__location", "period__department").order_by("day")
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//clinicdesk//roster feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Shifts · {feed.staff.full_name}")
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    count = 0
    for row in rows:
        zone = zoneinfo.ZoneInfo(row.period.location.time_zone)
        start, end = row.shift_type.span_on(row.day)
        event = icalendar.Event()
        event.add("uid", f"roster-{feed.staff_id}-{row.day:%Y%m%d}@{UID_DOMAIN}")
        event.add("dtstamp", now)
        event.add("dtstart", start.replace(tzinfo=zone))
        event.add("dtend", end.replace(tzinfo=zone))
        event.add("summary", f"{row.shift_type.name} shift · {row.period.department.name}")
        event.add("location", row.period.location.name)
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
        count += 1
    feed.last_accessed_at = now
    feed.save(update_fields=["last_accessed_at", "updated_at"])
    audit_event(action="roster_feed.fetched", target=feed, organization_id=feed.organization_id,
                actor_label=f"roster feed of {feed.staff}", channel=AuditChannel.EXPORT,
                summary=f"Roster calendar of {feed.staff} fetched: {count} shift{'' if count == 1 else 's'}")
    return calendar.to_ical()
