"""Reads for online booking: the public page's locations, types, providers and free times (nothing about
anyone else: only provider display names and times), and the office's queue of online requests."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import OnlineRequestStatus
from ..models import AppointmentType, AvailabilityTemplate, LocationSchedule, OnlineBookingRequest
from ..services.appointments import PROVIDER_ROLES
from .slots import MAX_LIMIT, find_slots

# Days shown at once on the public page; "later times" moves on by as many.
DAYS_PER_PAGE = 7
# find_slots' ceiling; when a page reaches it, the page ends before its last (partial) day.
MAX_TIMES_PER_PAGE = MAX_LIMIT


@dataclass(frozen=True)
class PublicTime:
    """A free time as the public page shows it: when, and with whom (a display name only)."""

    provider_id: int
    provider_name: str
    starts_at: datetime  # in the location's time zone
    ends_at: datetime

    @property
    def key(self) -> str:
        """The start in UTC as it travels in URLs: 20270315T1330Z."""
        return format_start(self.starts_at)


@dataclass(frozen=True)
class PublicDay:
    day: date
    times: list[PublicTime]


@dataclass(frozen=True)
class PublicTimes:
    """A page of free times by day, and the first day of the next page (None at the booking horizon)."""

    days: list[PublicDay]
    next_from: date | None


def format_start(moment: datetime) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo("UTC")).strftime("%Y%m%dT%H%MZ")


def parse_start(text: str) -> datetime | None:
    """The inverse of format_start; None for anything else."""
    try:
        return datetime.strptime((text or "").strip(), "%Y%m%dT%H%MZ").replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
    except ValueError:
        return None


def location_tz(schedule: LocationSchedule) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(schedule.location.time_zone)


def online_booking_location(*, slug: str) -> LocationSchedule | None:
    """The location whose public booking page has this slug, when online booking is on (else None)."""
    if not slug:
        return None
    return (
        LocationSchedule.objects.select_related("location", "location__organization")
        .filter(online_booking_slug=slug, online_booking_enabled=True, location__is_active=True)
        .first()
    )


def online_bookable_types(*, schedule: LocationSchedule) -> QuerySet[AppointmentType]:
    """Appointment types a patient may book on this location's page."""
    return AppointmentType.objects.filter(
        organization_id=schedule.location.organization_id, bookable_online=True, is_active=True
    ).order_by("name")


def online_providers(*, schedule: LocationSchedule, on: date | None = None) -> list[User]:
    """Providers with a current or future usual week at this location: the ones a patient may choose."""
    on = on or timezone.localdate(timezone=location_tz(schedule))
    provider_ids = AvailabilityTemplate.objects.filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=on), location=schedule.location
    ).values("provider_id")
    return list(
        User.objects.filter(
            pk__in=provider_ids, organization_id=schedule.location.organization_id, role__in=PROVIDER_ROLES, is_active=True
        )
        .only("id", "first_name", "last_name", "username", "title")
        .order_by("last_name", "first_name")
    )


def provider_display_name(user: User) -> str:
    """What the public sees of a provider: the name and title, never the username or e-mail."""
    name = user.get_full_name().strip() or "A provider"
    return f"{name}, {user.title}" if user.title else name


def online_booking_window(*, schedule: LocationSchedule, now: datetime | None = None) -> tuple[datetime, datetime]:
    """From now to the end of the last day patients may book ahead, in the location's zone."""
    now = now or timezone.now()
    tz = location_tz(schedule)
    last_day = now.astimezone(tz).date() + timedelta(days=schedule.online_booking_days_ahead)
    return now, datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz)


def _held_for_approval(*, schedule: LocationSchedule, start: datetime, end: datetime) -> list[tuple[int, datetime, datetime]]:
    """Verified requests waiting for the office: their times are not offered to other patients online."""
    return list(
        OnlineBookingRequest.objects.filter(
            location=schedule.location,
            status=OnlineRequestStatus.PENDING_APPROVAL,
            starts_at__lt=end,
            ends_at__gt=start,
        ).values_list("provider_id", "starts_at", "ends_at")
    )


def online_free_times(
    *,
    schedule: LocationSchedule,
    appointment_type: AppointmentType,
    provider: User | None = None,
    from_day: date | None = None,
    days: int = DAYS_PER_PAGE,
    now: datetime | None = None,
    exclude_request: OnlineBookingRequest | None = None,
) -> PublicTimes:
    """Free times for the public page, by day, from `from_day` (default today) for `days` days, within the
    location's booking horizon. Only provider display names and times leave this function."""
    now = now or timezone.now()
    tz = location_tz(schedule)
    window_start, horizon = online_booking_window(schedule=schedule, now=now)
    today = now.astimezone(tz).date()
    from_day = max(from_day or today, today)
    start = max(window_start, datetime.combine(from_day, time.min, tzinfo=tz))
    end = min(horizon, datetime.combine(from_day + timedelta(days=days), time.min, tzinfo=tz))
    next_from = from_day + timedelta(days=days)
    next_from = next_from if datetime.combine(next_from, time.min, tzinfo=tz) < horizon else None
    if start >= end or not appointment_type.bookable_online or not appointment_type.is_active:
        return PublicTimes(days=[], next_from=next_from if start < horizon else None)
    providers = {p.pk: p for p in online_providers(schedule=schedule)}
    provider_ids = list(providers) if provider is None else [pk for pk in providers if pk == provider.pk]
    if not provider_ids:
        return PublicTimes(days=[], next_from=None)
    slots = find_slots(
        organization=schedule.location.organization,
        appointment_type=appointment_type,
        start=start,
        end=end,
        provider_ids=provider_ids,
        location=schedule.location,
        limit=MAX_TIMES_PER_PAGE,
        now=now,
    )
    if len(slots) >= MAX_TIMES_PER_PAGE:
        # The last day may be cut short: the next page starts with it (unless it is the only day).
        last_day = slots[-1].starts_at.astimezone(tz).date()
        if last_day > from_day:
            slots = [s for s in slots if s.starts_at.astimezone(tz).date() < last_day]
            next_from = last_day
    held = [
        h for h in _held_for_approval(schedule=schedule, start=start, end=end + timedelta(days=1))
        if exclude_request is None or (h[0], h[1]) != (exclude_request.provider_id, exclude_request.starts_at)
    ]
    by_day: dict[date, list[PublicTime]] = {}
    for slot in slots:
        if slot.provider_id not in providers:
            continue
        if any(pid == slot.provider_id and s < slot.ends_at and e > slot.starts_at for pid, s, e in held):
            continue
        local_start = slot.starts_at.astimezone(tz)
        by_day.setdefault(local_start.date(), []).append(
            PublicTime(
                provider_id=slot.provider_id,
                provider_name=provider_display_name(providers[slot.provider_id]),
                starts_at=local_start,
                ends_at=slot.ends_at.astimezone(tz),
            )
        )
    return PublicTimes(
        days=[PublicDay(day=d, times=sorted(t, key=lambda x: (x.starts_at, x.provider_name))) for d, t in sorted(by_day.items())],
        next_from=next_from,
    )


def online_time_is_free(
    *,
    schedule: LocationSchedule,
    appointment_type: AppointmentType,
    provider: User,
    starts_at: datetime,
    now: datetime | None = None,
    exclude_request: OnlineBookingRequest | None = None,
) -> bool:
    """Whether the public page would still offer exactly this time with this provider."""
    tz = location_tz(schedule)
    day = starts_at.astimezone(tz).date()
    for public_day in online_free_times(
        schedule=schedule, appointment_type=appointment_type, provider=provider, from_day=day, days=1, now=now,
        exclude_request=exclude_request,
    ).days:
        if any(t.starts_at == starts_at for t in public_day.times):
            return True
    return False


# --- the office's queue -----------------------------------------------------------------------------


def _queue(actor: User) -> QuerySet[OnlineBookingRequest]:
    """The actor's practice's requests, at the actor's locations when they are limited to some."""
    if not actor.has_perm_code(Perm.ONLINE_REQUESTS):
        return OnlineBookingRequest.objects.none()
    requests = OnlineBookingRequest.objects.filter(organization_id=actor.organization_id)
    location_ids = list(actor.locations.values_list("id", flat=True))
    return requests.filter(location_id__in=location_ids) if location_ids else requests


def online_request_list(*, actor: User, status: str = OnlineRequestStatus.PENDING_APPROVAL) -> QuerySet[OnlineBookingRequest]:
    """Online requests of the actor's practice in one status; the waiting ones soonest first, the others newest first."""
    order = "starts_at" if status == OnlineRequestStatus.PENDING_APPROVAL else "-updated_at"
    return _queue(actor).filter(status=status).select_related(
        "location", "appointment_type", "provider", "decided_by", "patient"
    ).order_by(order, "id")


def online_request_for_actor(*, actor: User, request_id: int) -> OnlineBookingRequest | None:
    """One request of the actor's practice (and locations), or None."""
    return _queue(actor).filter(pk=request_id).select_related(
        "location", "location__organization", "appointment_type", "provider", "organization"
    ).first()


def online_request_counts(*, actor: User) -> dict[str, int]:
    """How many requests of each status the queue's tabs show."""
    return dict(_queue(actor).order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
