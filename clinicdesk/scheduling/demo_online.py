"""The demo practice's online booking: Main Street books at once (/book/riverside-main/), North asks the office
to approve (/book/riverside-north/), two verified requests wait in North's queue, and Dr. Chen has a calendar
feed whose URL is printed once.

Called from scheduling.demo.seed after the appointments exist. Idempotent: settings are put right on every
run; the requests and the feed are added only when the practice has none.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from .choices import OnlineRequestStatus
from .models import AppointmentType, CalendarFeed, LocationSchedule, OnlineBookingRequest
from .selectors.slots import find_slots
from .services.feeds import calendar_feed_create

# location code -> (slug, office approves each request)
ONLINE = {"main": ("riverside-main", False), "north": ("riverside-north", True)}
WAITING = [
    # first, last, date of birth, e-mail, phone, type code, reason
    ("Grace", "Whitfield", date(1990, 7, 12), "grace.whitfield@example.com", "+12125550161", "annual-physical", "Yearly check-up"),
    ("Tomás", "Herrera", date(1979, 2, 3), "tomas.herrera@example.com", "+17185550162", "follow-up", "Blood pressure review"),
]


@transaction.atomic
def seed_online(ctx, *, seed: int, stdout=None) -> int:
    """Switch on online booking at both demo locations and add the waiting requests and a feed; returns rows added."""
    org = ctx.organization
    added = 0
    locations = {loc.code: loc for loc in ctx.locations}
    for code, (slug, approval) in ONLINE.items():
        location = locations.get(code)
        if location is None:
            continue
        schedule, created = LocationSchedule.objects.get_or_create(location=location)
        added += created
        schedule.online_booking_enabled = True
        schedule.online_booking_slug = slug
        schedule.online_requires_approval = approval
        schedule.save(update_fields=["online_booking_enabled", "online_booking_slug", "online_requires_approval", "updated_at"])
    if not OnlineBookingRequest.objects.filter(organization=org).exists() and "north" in locations:
        added += _waiting_requests(org, locations["north"], seed=seed)
    chen = ctx.users.get("drchen")
    if chen is not None and not CalendarFeed.objects.filter(provider=chen).exists():
        _, token = calendar_feed_create(actor=chen, provider=chen)
        added += 1
        if stdout is not None:
            stdout.write(f"Dr. Chen's calendar feed (shown once): /feeds/{token}.ics")
    return added


def _waiting_requests(org, location, *, seed: int) -> int:
    rng = random.Random(f"online:{seed}")  # noqa: S311  (demo data, not security)
    now = timezone.now()
    kinds = {k.code: k for k in AppointmentType.objects.filter(organization=org, bookable_online=True)}
    added = 0
    for first, last, born, email, phone, code, reason in WAITING:
        kind = kinds.get(code)
        if kind is None:
            continue
        start = now + timedelta(days=rng.randint(3, 9))
        slots = find_slots(organization=org, appointment_type=kind, start=start, end=start + timedelta(days=14), location=location, limit=5)
        if not slots:
            continue
        slot = slots[rng.randrange(len(slots))]
        OnlineBookingRequest.objects.create(
            organization=org, location=location, appointment_type=kind, provider_id=slot.provider_id,
            starts_at=slot.starts_at, ends_at=slot.ends_at, first_name=first, last_name=last, date_of_birth=born,
            email=email, phone=phone, reason=reason, status=OnlineRequestStatus.PENDING_APPROVAL,
            # Nobody holds the token of a demo request: a hash of nothing anyone was sent.
            verify_token_hash=hashlib.sha256(f"demo:{seed}:{email}".encode()).hexdigest(),
            verified_at=now - timedelta(minutes=rng.randint(10, 300)), expires_at=now, ip_address="203.0.113.10",
        )
        added += 1
    return added
