"""The waitlist: entries with the patient's constraints, offers of freed time, and booking an offer.

When an appointment is cancelled or moved, `receivers.py` queues `tasks.waitlist_offer_freed_time`,
which calls `waitlist_offer_freed_time` here: the waiting entries that fit the freed time are ranked
and the best few get an offer at once. Staff book an offer with one click (`waitlist_offer_book`);
the patient can also accept by the offer's secret token (`waitlist_offer_accept`), and the first
acceptance wins. Booking always goes through the appointment service, never around it.
"""

from __future__ import annotations

import secrets
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinicdesk.core.audit import audit_event, audit_events
from clinicdesk.core.choices import AuditChannel
from clinicdesk.core.models import Location, User
from clinicdesk.core.validation import full_clean_or_raise
from clinicdesk.patients.choices import PatientStatus
from clinicdesk.patients.models import Patient
from clinicdesk.patients.services.records import acting_as

from ..choices import LIVE_STATUSES, BookingChannel, OfferReply, OfferStatus, TimeOfDay, WaitlistStatus
from ..models import Appointment, AppointmentType, WaitlistEntry, WaitlistOffer
from ..selectors.slots import Slot, find_slots
from ..signals import waitlist_offers_made
from .appointments import BookingConflict, appointment_book, appointment_cancel, notify_after_commit

# How many waiting patients are offered one freed time at once; the first to accept gets it.
OFFERS_PER_OPENING = 3
# How long an offer stays open (never past the offered start).
OFFER_TTL = timedelta(hours=2)
PRIORITY_MAX = 10
# Entries still open: WAITING, or OFFERED while an offer is pending.
OPEN_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
# Statuses whose offers still hold a claim on the time.
CLAIMING_OFFERS = (OfferStatus.PENDING, OfferStatus.ACCEPTED)
MOVE_EARLIER_REASON = "Moved to an earlier time from the waitlist"


# --- entries --------------------------------------------------------------------------------------


def _same_org(obj, actor: User) -> bool:
    return obj is not None and getattr(obj, "organization_id", None) == actor.organization_id


def _entry_errors(
    *,
    actor: User,
    patient: Patient,
    appointment_type: AppointmentType,
    providers: Sequence[User],
    location: Location | None,
    current_appointment: Appointment | None,
    earliest_date: date | None,
    latest_date: date | None,
    weekdays: Sequence[int],
    time_of_day: str,
    priority: int,
    today: date,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _same_org(patient, actor) or patient.merged_into_id:
        errors["patient"] = "No such patient."
    elif patient.status != PatientStatus.ACTIVE:
        errors["patient"] = f"The patient is {patient.get_status_display().lower()}; only active patients can wait for a time."
    if not _same_org(appointment_type, actor) or not appointment_type.is_active:
        errors["appointment_type"] = "Choose an active appointment type of this practice."
    bad = [p for p in providers if p.organization_id != actor.organization_id or not p.is_active]
    if bad:
        errors["providers"] = "Choose providers of this practice (or none for any provider)."
    if location is not None and (not _same_org(location, actor) or not location.is_active):
        errors["location"] = "Choose a location of this practice (or none for any location)."
    elif location is not None and not actor.may_use_location(location.pk):
        errors["location"] = "You do not work at that location."
    if current_appointment is not None:
        if "patient" not in errors and current_appointment.patient_id != patient.pk:
            errors["current_appointment"] = "That appointment belongs to another patient."
        elif not Appointment.objects.filter(
            pk=current_appointment.pk, status__in=LIVE_STATUSES, starts_at__gt=timezone.now()
        ).exists():
            errors["current_appointment"] = "Only an upcoming appointment can be moved earlier."
    if latest_date is not None and latest_date < today:
        errors["latest_date"] = "The latest date is in the past."
    if earliest_date is not None and latest_date is not None and latest_date < earliest_date:
        errors["latest_date"] = "The latest date is before the earliest date."
    if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in weekdays):
        errors["weekdays"] = "Weekdays are 0 (Monday) to 6 (Sunday)."
    elif len(set(weekdays)) != len(weekdays):
        errors["weekdays"] = "A weekday is listed twice."
    if time_of_day not in TimeOfDay.values:
        errors["time_of_day"] = f"Unknown time of day '{time_of_day}'; use one of: {', '.join(TimeOfDay.values)}."
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= PRIORITY_MAX:
        errors["priority"] = f"Priority is a whole number from 0 to {PRIORITY_MAX} (higher is offered first)."
    return errors


@transaction.atomic
def waitlist_entry_add(
    *,
    actor: User,
    patient: Patient,
    appointment_type: AppointmentType,
    providers: Iterable[User] = (),
    location: Location | None = None,
    current_appointment: Appointment | None = None,
    earliest_date: date | None = None,
    latest_date: date | None = None,
    weekdays: Iterable[int] = (),
    time_of_day: str = TimeOfDay.ANY,
    priority: int = 0,
    notes: str = "",
) -> WaitlistEntry:
    """Put a patient on the waitlist for a type of visit, with the times they can come."""
    providers = list(providers)
    weekdays = list(weekdays)
    errors = _entry_errors(
        actor=actor, patient=patient, appointment_type=appointment_type, providers=providers, location=location,
        current_appointment=current_appointment, earliest_date=earliest_date, latest_date=latest_date,
        weekdays=weekdays, time_of_day=time_of_day, priority=priority, today=timezone.localdate(),
    )
    if not errors and WaitlistEntry.objects.filter(
        patient=patient, appointment_type=appointment_type, status__in=OPEN_STATUSES
    ).exists():
        errors["appointment_type"] = "The patient is already waiting for this type of visit."
    entry = WaitlistEntry(
        organization_id=actor.organization_id,
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        current_appointment=current_appointment,
        earliest_date=earliest_date,
        latest_date=latest_date,
        weekdays=sorted(weekdays),
        time_of_day=time_of_day,
        priority=priority,
        notes=(notes or "").strip(),
        added_by=actor,
    )
    full_clean_or_raise(
        entry, errors,
        exclude=["organization", "patient", "appointment_type", "location", "current_appointment", "added_by"],
    )
    with acting_as(actor):
        entry.save(force_insert=True)
        if providers:
            entry.providers.set(providers)
    return entry


@transaction.atomic
def waitlist_entry_remove(*, actor: User, entry: WaitlistEntry, notes: str = "") -> WaitlistEntry:
    """Take a patient off the waitlist (they found a time, or no longer need one); open offers are withdrawn."""
    if not _same_org(entry, actor):
        raise ValidationError({"entry": "No such waitlist entry."})
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status not in OPEN_STATUSES:
        raise ValidationError({"status": f"This entry is already {entry.get_status_display().lower()}."})
    entry.status = WaitlistStatus.REMOVED
    fields = ["status", "updated_at"]
    if notes.strip():
        entry.notes = f"{entry.notes} · {notes.strip()}".strip(" ·")[:300]
        fields.append("notes")
    with acting_as(actor):
        entry.save(update_fields=fields)
    entry.offers.filter(status=OfferStatus.PENDING).update(status=OfferStatus.WITHDRAWN, updated_at=timezone.now())
    return entry


# --- offering freed time ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FreedTime:
    """Time that came free on a provider's calendar at a location (the busy window, buffers included)."""

    provider_id: int
    location_id: int
    starts_at: datetime
    ends_at: datetime


def _local(moment: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def _overlap(slot: Slot, freed: FreedTime) -> timedelta:
    return max(min(slot.ends_at, freed.ends_at) - max(slot.starts_at, freed.starts_at), timedelta(0))


def _entry_accepts(entry: WaitlistEntry, slot: Slot, tz: zoneinfo.ZoneInfo) -> bool:
    """Whether a slot meets the entry's own constraints (the slot search already checked time of day)."""
    provider_ids = {p.pk for p in entry.providers.all()}
    if provider_ids and slot.provider_id not in provider_ids:
        return False
    if entry.location_id is not None and entry.location_id != slot.location_id:
        return False
    day = _local(slot.starts_at, tz).date()
    if entry.earliest_date and day < entry.earliest_date:
        return False
    if entry.latest_date and day > entry.latest_date:
        return False
    if entry.weekdays and day.weekday() not in entry.weekdays:
        return False
    current = entry.current_appointment
    return not (current is not None and current.status in LIVE_STATUSES and slot.starts_at >= current.starts_at)


def _slots_for(
    *, location: Location, freed: FreedTime, appointment_type: AppointmentType, time_of_day: str, now: datetime
) -> list[Slot]:
    """Free slots of this type that use some of the freed time."""
    reach = timedelta(minutes=appointment_type.duration_minutes + appointment_type.buffer_before_minutes)
    slots = find_slots(
        organization=location.organization, appointment_type=appointment_type,
        start=max(freed.starts_at - reach, now), end=freed.ends_at, provider_ids=[freed.provider_id],
        location=location, time_of_day=time_of_day, limit=50, now=now,
    )
    return [s for s in slots if s.provider_id == freed.provider_id and _overlap(s, freed) > timedelta(0)]


def _rank_key(entry: WaitlistEntry, slot: Slot, freed: FreedTime) -> tuple:
    """Priority first, then who has waited longest, then fit: how much of the freed time the visit uses,
    and a patient who asked for this provider before one who takes any."""
    asked_for_provider = any(p.pk == freed.provider_id for p in entry.providers.all())
    return (-entry.priority, entry.created_at, -_overlap(slot, freed), not asked_for_provider, entry.pk)


def waitlist_candidates(*, freed: FreedTime, now: datetime | None = None) -> list[tuple[WaitlistEntry, Slot]]:
    """The waiting entries that fit the freed time, best first, each with the slot it would get."""
    now = now or timezone.now()
    if freed.ends_at <= now:
        return []
    location = Location.objects.select_related("organization").get(pk=freed.location_id)
    tz = zoneinfo.ZoneInfo(location.time_zone)
    first_day = _local(max(freed.starts_at, now), tz).date()
    last_day = _local(freed.ends_at, tz).date()
    entries = list(
        WaitlistEntry.objects.filter(organization_id=location.organization_id, status__in=OPEN_STATUSES)
        .filter(Q(location__isnull=True) | Q(location_id=location.pk))
        .filter(Q(earliest_date__isnull=True) | Q(earliest_date__lte=last_day))
        .filter(Q(latest_date__isnull=True) | Q(latest_date__gte=first_day))
        .filter(patient__status=PatientStatus.ACTIVE, patient__merged_into__isnull=True, appointment_type__is_active=True)
        .filter(Q(providers__isnull=True) | Q(providers=freed.provider_id))
        .distinct()
        .select_related("patient", "appointment_type", "current_appointment")
        .prefetch_related("providers")
    )
    if not entries:
        return []
    # Whoever already had an offer touching this time (declined, expired, taken) is not asked again.
    already = set(
        WaitlistOffer.objects.filter(
            entry__in=entries, provider_id=freed.provider_id, starts_at__lt=freed.ends_at, ends_at__gt=freed.starts_at
        ).values_list("entry_id", flat=True)
    )
    entries = [e for e in entries if e.pk not in already]
    slots_by_kind: dict[tuple[int, str], list[Slot]] = {}
    matches: list[tuple[WaitlistEntry, Slot]] = []
    for entry in entries:
        key = (entry.appointment_type_id, entry.time_of_day)
        if key not in slots_by_kind:
            slots_by_kind[key] = _slots_for(
                location=location, freed=freed, appointment_type=entry.appointment_type, time_of_day=entry.time_of_day, now=now
            )
        fitting = [s for s in slots_by_kind[key] if _entry_accepts(entry, s, tz)]
        if fitting:
            matches.append((entry, min(fitting, key=lambda s: (-_overlap(s, freed), s.starts_at))))
    if not matches:
        return []
    # A patient who is already booked at that time cannot take it.
    busy = set(
        Appointment.objects.filter(
            patient_id__in={e.patient_id for e, _ in matches}, status__in=LIVE_STATUSES,
            starts_at__lt=freed.ends_at + timedelta(hours=4), ends_at__gt=freed.starts_at - timedelta(hours=4),
        ).values_list("patient_id", "starts_at", "ends_at")
    )
    matches = [
        (e, s) for e, s in matches
        if not any(pid == e.patient_id and a < s.ends_at and b > s.starts_at for pid, a, b in busy)
    ]
    matches.sort(key=lambda m: _rank_key(m[0], m[1], freed))
    return matches


def new_offer_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def waitlist_offer_freed_time(
    *, provider_id: int, location_id: int, starts_at: datetime, ends_at: datetime, now: datetime | None = None,
    limit: int = OFFERS_PER_OPENING,
) -> list[WaitlistOffer]:
    """Offer freed time at once to the best-matching waiting patients, ranked, so that up to `limit` offers
    hold it at any moment (a decline or an expiry brings in the next patient; a booking ends it).

    Safe to run twice for the same time: a patient already offered any part of it is not offered again.
    """
    now = now or timezone.now()
    freed = FreedTime(provider_id=provider_id, location_id=location_id, starts_at=starts_at, ends_at=ends_at)
    claims = list(
        WaitlistOffer.objects.filter(
            provider_id=provider_id, starts_at__lt=ends_at, ends_at__gt=starts_at, status__in=CLAIMING_OFFERS
        ).values_list("status", flat=True)
    )
    if OfferStatus.ACCEPTED in claims or len(claims) >= limit:
        return []
    matches = waitlist_candidates(freed=freed, now=now)[: limit - len(claims)]
    if not matches:
        return []
    offers = []
    for rank, (entry, slot) in enumerate(matches, start=len(claims) + 1):
        offers.append(
            WaitlistOffer(
                entry=entry, provider_id=slot.provider_id, location_id=slot.location_id, starts_at=slot.starts_at,
                ends_at=slot.ends_at, rank=rank, status=OfferStatus.PENDING, token=new_offer_token(),
                expires_at=min(now + OFFER_TTL, slot.starts_at),
            )
        )
    WaitlistOffer.objects.bulk_create(offers)
    entry_ids = [entry.pk for entry, _ in matches]
    WaitlistEntry.objects.filter(pk__in=entry_ids, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.OFFERED, updated_at=now
    )
    local = timezone.localtime(matches[0][1].starts_at, zoneinfo.ZoneInfo(Location.objects.get(pk=location_id).time_zone))
    audit_events(
        action="waitlist.offered", targets=[entry for entry, _ in matches], channel=AuditChannel.SYSTEM,
        summary=f"Offered freed time on {local:%Y-%m-%d %H:%M}",
    )
    notify_after_commit(waitlist_offers_made, offers=offers)
    return offers


# --- booking an offer ---------------------------------------------------------------------------------


def _withdraw_overlapping(offer: WaitlistOffer, now: datetime) -> int:
    """The time is taken: other pending offers of it are withdrawn, and so are this patient's offers of
    other times (those times go to the next patients in line)."""
    overlapping = Q(provider_id=offer.provider_id, starts_at__lt=offer.ends_at, ends_at__gt=offer.starts_at)
    pending = WaitlistOffer.objects.filter(status=OfferStatus.PENDING).exclude(pk=offer.pk)
    elsewhere = list(pending.filter(entry_id=offer.entry_id).exclude(overlapping))
    withdrawn = pending.filter(overlapping | Q(entry_id=offer.entry_id)).update(status=OfferStatus.WITHDRAWN, updated_at=now)
    _offer_again_on_commit(o for o in elsewhere if o.starts_at > now)
    return withdrawn


def _reopen_entries_without_offers(entry_ids: Iterable[int], now: datetime) -> None:
    """Entries whose offers all ended go back to waiting for the next freed time."""
    WaitlistEntry.objects.filter(pk__in=list(entry_ids), status=WaitlistStatus.OFFERED).exclude(
        offers__status=OfferStatus.PENDING
    ).update(status=WaitlistStatus.WAITING, updated_at=now)


def _affected_entry_ids(offer: WaitlistOffer) -> list[int]:
    return list(
        WaitlistOffer.objects.filter(
            provider_id=offer.provider_id, starts_at__lt=offer.ends_at, ends_at__gt=offer.starts_at
        ).values_list("entry_id", flat=True)
    )


def _book(*, offer: WaitlistOffer, actor: User | None, channel: str, now: datetime) -> WaitlistOffer:
    """Book the offered time for the entry's patient (inside the caller's transaction)."""
    entry = offer.entry
    current = entry.current_appointment
    moving = current is not None and current.status in LIVE_STATUSES and current.starts_at > offer.starts_at
    if moving:
        # Freed first, so the patient's own earlier booking never overlaps the visit it replaces.
        appointment_cancel(actor=actor, appointment=current, reason=MOVE_EARLIER_REASON)
    appointment = appointment_book(
        actor=actor, patient=entry.patient, provider=offer.provider, location=offer.location,
        appointment_type=entry.appointment_type, starts_at=offer.starts_at, channel=channel,
        notes="Booked from the waitlist",
    )
    offer.status = OfferStatus.ACCEPTED
    offer.appointment = appointment
    offer.save(update_fields=["status", "appointment", "updated_at"])
    entry.status = WaitlistStatus.BOOKED
    with acting_as(actor):
        entry.save(update_fields=["status", "updated_at"])
    _withdraw_overlapping(offer, now)
    _reopen_entries_without_offers(_affected_entry_ids(offer), now)
    audit_event(
        action="waitlist.booked", actor=actor, target=entry,
        channel=None if actor is not None else AuditChannel.SYSTEM,
        summary=f"Booked from a waitlist offer{' (moved earlier)' if moving else ''}",
        changes={"offer": offer.pk, "appointment": appointment.pk},
    )
    return offer


def _lock_offer(offer_id: int) -> WaitlistOffer:
    return (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("entry", "entry__patient", "entry__appointment_type", "entry__current_appointment",
                        "provider", "location")
        .get(pk=offer_id)
    )


def _time_taken(offer: WaitlistOffer) -> bool:
    return WaitlistOffer.objects.filter(
        status=OfferStatus.ACCEPTED, provider_id=offer.provider_id, starts_at__lt=offer.ends_at, ends_at__gt=offer.starts_at
    ).exclude(pk=offer.pk).exists()


def _mark_taken(offer_id: int, now: datetime) -> None:
    with transaction.atomic():
        offer = WaitlistOffer.objects.select_for_update().get(pk=offer_id)
        if offer.status == OfferStatus.PENDING:
            offer.status = OfferStatus.WITHDRAWN
            offer.save(update_fields=["status", "updated_at"])
            _reopen_entries_without_offers([offer.entry_id], now)


def waitlist_offer_book(*, actor: User, offer: WaitlistOffer, now: datetime | None = None) -> WaitlistOffer:
    """Staff book an offered time with one click: the appointment is booked through the appointment
    service, the entry is done, other offers of that time are withdrawn, and a move-earlier cancels the
    patient's later visit. A time that was taken meanwhile gives a field error on `offer`."""
    now = now or timezone.now()
    if offer.entry.organization_id != actor.organization_id:
        raise ValidationError({"offer": "No such offer."})
    try:
        with transaction.atomic():
            locked = _lock_offer(offer.pk)
            _check_bookable(locked, now)
            return _book(offer=locked, actor=actor, channel=BookingChannel.PHONE, now=now)
    except BookingConflict as exc:
        _mark_taken(offer.pk, now)
        raise ValidationError({"offer": f"That time is no longer free: {'; '.join(exc.messages)}"}) from exc


def _check_bookable(offer: WaitlistOffer, now: datetime) -> None:
    if offer.status != OfferStatus.PENDING:
        raise ValidationError({"offer": f"This offer is {offer.get_status_display().lower()}."})
    if offer.expires_at <= now or offer.starts_at <= now:
        raise ValidationError({"offer": "This offer has expired."})
    if offer.entry.status not in OPEN_STATUSES:
        raise ValidationError({"offer": f"The waitlist entry is {offer.entry.get_status_display().lower()}."})
    if _time_taken(offer):
        raise BookingConflict({"offer": "Another patient took this time."})


def waitlist_offer_accept(*, token: str, now: datetime | None = None) -> OfferReply:
    """The patient's 'yes' (reply link today, SMS later): books the offered time if it is still free.

    The first acceptance wins; a later one answers TAKEN. Never raises for a bad or stale token."""
    now = now or timezone.now()
    offer = _offer_by_token(token)
    if offer is None:
        return OfferReply.UNKNOWN
    try:
        with transaction.atomic():
            locked = _lock_offer(offer.pk)
            if locked.status == OfferStatus.ACCEPTED:
                return OfferReply.ALREADY_BOOKED
            if locked.status == OfferStatus.DECLINED:
                return OfferReply.DECLINED
            if locked.status == OfferStatus.WITHDRAWN:
                return OfferReply.TAKEN
            if locked.status == OfferStatus.EXPIRED or locked.expires_at <= now or locked.starts_at <= now:
                _expire([locked], now)
                if locked.starts_at > now:
                    _offer_again_on_commit([locked])
                return OfferReply.EXPIRED
            if locked.entry.status not in OPEN_STATUSES:
                return OfferReply.TAKEN
            if _time_taken(locked):
                raise BookingConflict({"offer": "Another patient took this time."})
            _book(offer=locked, actor=None, channel=BookingChannel.ONLINE, now=now)
            return OfferReply.BOOKED
    except (BookingConflict, ValidationError):
        # Any refusal by the booking rules means the time can no longer be had.
        _mark_taken(offer.pk, now)
        return OfferReply.TAKEN


def waitlist_offer_decline(*, token: str = "", offer: WaitlistOffer | None = None, actor: User | None = None,
                           now: datetime | None = None) -> OfferReply:
    """The patient says no (by token, or staff record it); the freed time goes to the next in line."""
    now = now or timezone.now()
    if offer is None:
        offer = _offer_by_token(token)
    elif actor is None or offer.entry.organization_id != actor.organization_id:
        raise ValidationError({"offer": "No such offer."})
    if offer is None:
        return OfferReply.UNKNOWN
    with transaction.atomic():
        locked = _lock_offer(offer.pk)
        if locked.status != OfferStatus.PENDING:
            return {OfferStatus.ACCEPTED: OfferReply.ALREADY_BOOKED, OfferStatus.DECLINED: OfferReply.DECLINED,
                    OfferStatus.EXPIRED: OfferReply.EXPIRED}.get(locked.status, OfferReply.TAKEN)
        locked.status = OfferStatus.DECLINED
        locked.save(update_fields=["status", "updated_at"])
        _reopen_entries_without_offers([locked.entry_id], now)
        audit_event(action="waitlist.offer_declined", actor=actor, target=locked.entry,
                    channel=None if actor is not None else AuditChannel.SYSTEM, summary="Offer declined")
        _offer_again_on_commit([locked])
    return OfferReply.DECLINED


def _offer_by_token(token: str) -> WaitlistOffer | None:
    token = (token or "").strip()
    if not token or len(token) > 64:
        return None
    return WaitlistOffer.objects.filter(token=token).first()


def _offer_again_on_commit(offers: Iterable[WaitlistOffer]) -> None:
    """Queue the offers' times (each once) for the next patients in line; the task tops the offers up."""
    from ..tasks import waitlist_offer_freed_time as offer_task

    times = {(o.provider_id, o.location_id, o.starts_at, o.ends_at) for o in offers}
    for provider_id, location_id, starts_at, ends_at in sorted(times, key=lambda t: (t[2], t[0])):
        kwargs = {"provider_id": provider_id, "location_id": location_id,
                  "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}
        transaction.on_commit(lambda kwargs=kwargs: offer_task.enqueue(**kwargs))


def _expire(offers: Sequence[WaitlistOffer], now: datetime) -> None:
    WaitlistOffer.objects.filter(pk__in=[o.pk for o in offers], status=OfferStatus.PENDING).update(
        status=OfferStatus.EXPIRED, updated_at=now
    )
    _reopen_entries_without_offers({o.entry_id for o in offers}, now)


@transaction.atomic
def waitlist_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Close lapsed offers (their time goes to the next in line) and entries past their latest date."""
    now = now or timezone.now()
    lapsed = list(WaitlistOffer.objects.filter(status=OfferStatus.PENDING, expires_at__lte=now))
    _expire(lapsed, now)
    _offer_again_on_commit(o for o in lapsed if o.starts_at > now)
    stale = WaitlistEntry.objects.filter(status__in=OPEN_STATUSES, latest_date__lt=timezone.localdate(now))
    stale_ids = list(stale.values_list("pk", flat=True))
    WaitlistOffer.objects.filter(entry_id__in=stale_ids, status=OfferStatus.PENDING).update(
        status=OfferStatus.EXPIRED, updated_at=now
    )
    WaitlistEntry.objects.filter(pk__in=stale_ids).update(status=WaitlistStatus.EXPIRED, updated_at=now)
    return {"offers_expired": len(lapsed), "entries_expired": len(stale_ids)}
