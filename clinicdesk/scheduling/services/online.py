"""Online booking from the public page: a request, its e-mail verification, then a booking or the office's approval.

The flow:
1. `online_request_create` checks the chosen time is still offered, saves the request as waiting for
   verification (only the SHA-256 of its token is kept) and e-mails the link. Unverified requests expire
   after VERIFY_WINDOW and hold nothing.
2. `online_request_verify` (the patient followed the link and confirmed): at a location that books at once,
   the patient is matched or registered and the appointment is booked through `appointment_book` (channel
   online); where the office approves online bookings, the request waits in the office's queue.
3. `online_request_approve` / `online_request_decline`: the office's decision (the patient is e-mailed).

Held time while waiting for approval: the request is *not* an appointment, so the office calendar stays
free and the front desk may still book that time by phone; the public page does, however, stop offering it
to other patients. The patient is told so, and if the time is gone when the office approves, the office sees
a clear conflict and declines (the patient gets an e-mail) or books another time by phone.

The verification e-mail is sent straight after the commit rather than through a background task: the
task's arguments are stored in the database, and the raw token must never be.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.choices import AdministrativeSex, PatientStatus
from clinicdesk.patients.models import Patient
from clinicdesk.patients.search import normalize_name
from clinicdesk.patients.selectors.duplicates import patient_likely_duplicates
from clinicdesk.patients.services.records import normalize_phone, patient_create

from ..choices import BookingChannel, OnlineRequestStatus
from ..models import AppointmentType, LocationSchedule, OnlineBookingRequest
from ..selectors.online import location_tz, online_booking_window, online_time_is_free
from .appointments import PROVIDER_ROLES, BookingConflict, appointment_book

log = logging.getLogger(__name__)

VERIFY_WINDOW = timedelta(minutes=30)
# The oldest birth date the page accepts: older is a typing mistake.
MAX_AGE_YEARS = 130
ONLINE_ACTOR_LABEL = "online booking"


class OnlineTimeTaken(ValidationError):
    """The chosen time is no longer free: the page shows other times."""

    def __init__(self, message: str = "That time was taken in the meantime. Please choose another time."):
        super().__init__({"starts_at": message})


class OnlineRequestExpired(ValidationError):
    def __init__(self):
        super().__init__({"token": "This link has expired. Please choose a time again."})


def hash_token(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def online_request_by_token(*, token: str) -> OnlineBookingRequest | None:
    """The request a verification link points at (looked up by the token's hash), or None."""
    if not token or len(token) > 100:
        return None
    return (
        OnlineBookingRequest.objects.select_related("location", "appointment_type", "provider", "organization")
        .filter(verify_token_hash=hash_token(token))
        .first()
    )


class OnlineBookingActor:
    """Who acts when a verified patient books on the public page: no staff member.

    It carries the practice for services that scope by the actor's organization, grants no permission,
    and is not a user, so audit rows written for it name no one (our own events say "online booking").
    """

    is_authenticated = False
    is_active = False
    pk = None
    id = None
    role = ""

    def __init__(self, organization_id: int):
        self.organization_id = organization_id

    def has_perm_code(self, code: str) -> bool:
        return False

    def get_username(self) -> str:
        return ONLINE_ACTOR_LABEL

    def __str__(self) -> str:
        return ONLINE_ACTOR_LABEL


# --- 1. the request -----------------------------------------------------------------------------------


def _clean_person(
    *, first_name: str, last_name: str, date_of_birth: date | None, email: str, phone: str, reason: str, today: date
) -> dict:
    errors: dict[str, list[str]] = {}
    values = {
        "first_name": (first_name or "").strip(),
        "last_name": (last_name or "").strip(),
        "email": (email or "").strip().lower(),
        "reason": (reason or "").strip(),
        "date_of_birth": date_of_birth,
        "phone": "",
    }
    for name, label in (("first_name", "first name"), ("last_name", "last name")):
        if not values[name]:
            errors.setdefault(name, []).append(f"Enter your {label}.")
    if date_of_birth is None:
        errors.setdefault("date_of_birth", []).append("Enter your date of birth.")
    elif date_of_birth > today:
        errors.setdefault("date_of_birth", []).append("The date of birth cannot be in the future.")
    elif date_of_birth.year < today.year - MAX_AGE_YEARS:
        errors.setdefault("date_of_birth", []).append("Please check the year of birth.")
    try:
        validate_email(values["email"])
    except ValidationError:
        errors.setdefault("email", []).append("Enter a valid e-mail address; the confirmation link is sent there.")
    try:
        values["phone"] = normalize_phone(phone, field="phone")
    except ValidationError as exc:
        errors.setdefault("phone", []).extend(exc.message_dict["phone"])
    if errors:
        raise ValidationError(errors)
    return values


def _check_time(
    *, schedule: LocationSchedule, appointment_type: AppointmentType, provider: User, starts_at: datetime, now: datetime,
    exclude_request: OnlineBookingRequest | None = None,
) -> None:
    """The time must be one the public page offers right now."""
    location = schedule.location
    if appointment_type.organization_id != location.organization_id or not (appointment_type.bookable_online and appointment_type.is_active):
        raise ValidationError({"appointment_type": "This kind of visit cannot be booked online; please call the office."})
    if provider.organization_id != location.organization_id or provider.role not in PROVIDER_ROLES or not provider.is_active:
        raise ValidationError({"provider": "Choose one of the providers shown on the page."})
    if starts_at <= now:
        raise ValidationError({"starts_at": "That time has passed. Please choose a later time."})
    _, horizon = online_booking_window(schedule=schedule, now=now)
    if starts_at >= horizon:
        raise ValidationError({"starts_at": f"Online booking is open for the next {schedule.online_booking_days_ahead} days only."})
    if not online_time_is_free(
        schedule=schedule, appointment_type=appointment_type, provider=provider, starts_at=starts_at, now=now,
        exclude_request=exclude_request,
    ):
        raise OnlineTimeTaken()


@transaction.atomic
def online_request_create(
    *,
    schedule: LocationSchedule,
    appointment_type: AppointmentType,
    provider: User,
    starts_at: datetime,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    email: str,
    phone: str = "",
    reason: str = "",
    ip_address: str | None = None,
    site_url: str = "",
    now: datetime | None = None,
) -> tuple[OnlineBookingRequest, str]:
    """Save a patient's request for a time and e-mail them the verification link. Returns the request and the token
    (the token is only ever in the e-mail; the database keeps its hash)."""
    now = now or timezone.now()
    if not schedule.online_booking_enabled:
        raise ValidationError({"location": "Online booking is not available at this location."})
    tz = location_tz(schedule)
    person = _clean_person(
        first_name=first_name, last_name=last_name, date_of_birth=date_of_birth, email=email, phone=phone, reason=reason,
        today=now.astimezone(tz).date(),
    )
    _check_time(schedule=schedule, appointment_type=appointment_type, provider=provider, starts_at=starts_at, now=now)
    token = secrets.token_urlsafe(32)
    online_request = OnlineBookingRequest(
        organization_id=schedule.location.organization_id,
        location=schedule.location,
        appointment_type=appointment_type,
        provider=provider,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=appointment_type.duration_minutes),
        verify_token_hash=hash_token(token),
        status=OnlineRequestStatus.PENDING_VERIFICATION,
        ip_address=ip_address,
        expires_at=now + VERIFY_WINDOW,
        **person,
    )
    online_request.full_clean()
    online_request.save()
    audit_event(
        action="online_request.created",
        target=online_request,
        actor_label=ONLINE_ACTOR_LABEL,
        summary=f"Online request for {appointment_type.name} at {starts_at.astimezone(tz):%Y-%m-%d %H:%M}, waiting for e-mail verification",
    )
    link = site_url.rstrip("/") + reverse(
        "scheduling_public:booking_verify", kwargs={"location_slug": schedule.online_booking_slug, "token": token}
    )
    transaction.on_commit(lambda: _send_verification(online_request, link))
    return online_request, token


def _when(online_request: OnlineBookingRequest) -> str:
    local = online_request.starts_at.astimezone(zoneinfo.ZoneInfo(online_request.location.time_zone))
    return f"{local:%A, %B} {local.day}, {local:%Y} at {local:%H:%M} ({online_request.location.time_zone})"


def _mail(online_request: OnlineBookingRequest, *, subject: str, template: str, **context) -> None:
    body = render_to_string(
        template,
        {"online_request": online_request, "when": _when(online_request), "location": online_request.location, **context},
    )
    try:
        # A location name with a line break must not become a second header.
        subject = " ".join(subject.split())
        EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[online_request.email]).send()
    except Exception:  # an unreachable mail server must not undo the saved request
        log.exception("Could not send the online booking e-mail for request %s", online_request.pk)


def _send_verification(online_request: OnlineBookingRequest, link: str) -> None:
    _mail(
        online_request,
        subject=f"Confirm your appointment request at {online_request.location.name}",
        template="scheduling/email/online_verify.txt",
        link=link,
        minutes=int(VERIFY_WINDOW.total_seconds() // 60),
    )


# --- 2. verification ----------------------------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and normalize_name(a) == normalize_name(b)


def online_request_patient_match(*, online_request: OnlineBookingRequest) -> tuple[Patient | None, list[Patient]]:
    """The existing patient this request is for when exactly one record has the same name and birth date
    (legal or preferred first name), and the likely duplicates that were looked at."""
    candidates = patient_likely_duplicates(
        organization=online_request.organization,
        first_name=online_request.first_name,
        last_name=online_request.last_name,
        date_of_birth=online_request.date_of_birth,
    )
    strong = [
        p for p in candidates
        if p.date_of_birth == online_request.date_of_birth
        and _same(p.last_name, online_request.last_name)
        and (_same(p.first_name, online_request.first_name) or _same(p.preferred_name, online_request.first_name))
        and p.status != PatientStatus.DECEASED
    ]
    return (strong[0] if len(strong) == 1 else None), candidates


def _patient_for(online_request: OnlineBookingRequest, actor) -> Patient:
    patient, candidates = online_request_patient_match(online_request=online_request)
    if patient is not None:
        return patient
    # No single sure match: a new record; the likely duplicates are noted in the audit trail for a merge review.
    return patient_create(
        actor=actor,
        first_name=online_request.first_name,
        last_name=online_request.last_name,
        date_of_birth=online_request.date_of_birth,
        sex=AdministrativeSex.UNKNOWN,
        email=online_request.email,
        phone_mobile=online_request.phone,
        acknowledged_duplicates=candidates,
    )


def _notes(online_request: OnlineBookingRequest) -> str:
    lines = [f"Booked online. E-mail: {online_request.email}."]
    if online_request.phone:
        lines.append(f"Phone: {online_request.phone}.")
    if online_request.reason:
        lines.append(f"Reason: {online_request.reason}")
    return " ".join(lines)


def _book(online_request: OnlineBookingRequest, *, actor) -> None:
    """Match or register the patient and book the time; all or nothing (a conflict leaves no new patient behind)."""
    with transaction.atomic():
        patient = _patient_for(online_request, actor)
        appointment = appointment_book(
            # The booking service takes no actor for what the system does for a patient.
            actor=None if isinstance(actor, OnlineBookingActor) else actor,
            patient=patient,
            provider=online_request.provider,
            location=online_request.location,
            appointment_type=online_request.appointment_type,
            starts_at=online_request.starts_at,
            notes=_notes(online_request),
            channel=BookingChannel.ONLINE,
        )
    online_request.patient = patient
    online_request.appointment = appointment
    online_request.status = OnlineRequestStatus.BOOKED


def online_request_verify(
    *,
    online_request: OnlineBookingRequest,
    provider: User | None = None,
    starts_at: datetime | None = None,
    now: datetime | None = None,
) -> OnlineBookingRequest:
    """The patient confirmed from the e-mailed link: book at once, or hand the request to the office.

    `provider` and `starts_at` choose another time when the first one was taken meanwhile (the e-mail is
    verified by then, so the patient picks again without a new e-mail). A request that is no longer waiting
    for verification is returned as it is, so following the link twice is harmless.

    Raises OnlineRequestExpired, OnlineTimeTaken or a ValidationError naming the field; what was learnt
    before the error (the verified e-mail, the expiry) is saved all the same.
    """
    online_request, error = _verify(online_request=online_request, provider=provider, starts_at=starts_at, now=now or timezone.now())
    if error is not None:
        raise error
    return online_request


@transaction.atomic
def _verify(
    *, online_request: OnlineBookingRequest, provider: User | None, starts_at: datetime | None, now: datetime
) -> tuple[OnlineBookingRequest, ValidationError | None]:
    online_request = OnlineBookingRequest.objects.select_for_update().select_related(
        "location", "appointment_type", "provider", "organization"
    ).get(pk=online_request.pk)
    if online_request.status != OnlineRequestStatus.PENDING_VERIFICATION:
        return online_request, None
    if online_request.expires_at <= now:
        online_request.status = OnlineRequestStatus.EXPIRED
        online_request.save(update_fields=["status", "updated_at"])
        return online_request, OnlineRequestExpired()
    schedule = LocationSchedule.objects.select_related("location", "location__organization").get(location=online_request.location)
    if not schedule.online_booking_enabled:
        return online_request, ValidationError(
            {"location": "Online booking is no longer available at this location. Please call the office."}
        )
    if online_request.verified_at is None:
        online_request.verified_at = now
    # Until the new time is known to be free, the stored one stays.
    first_choice = (online_request.provider, online_request.starts_at, online_request.ends_at)
    if starts_at is not None:
        online_request.provider = provider or online_request.provider
        online_request.starts_at = starts_at
        online_request.ends_at = starts_at + timedelta(minutes=online_request.appointment_type.duration_minutes)
    try:
        _check_time(
            schedule=schedule, appointment_type=online_request.appointment_type, provider=online_request.provider,
            starts_at=online_request.starts_at, now=now,
        )
        if schedule.online_requires_approval:
            online_request.status = OnlineRequestStatus.PENDING_APPROVAL
        else:
            _book(online_request, actor=OnlineBookingActor(online_request.organization_id))
    except (OnlineTimeTaken, BookingConflict) as exc:
        return _keep_verification(online_request, first_choice, now), exc if isinstance(exc, OnlineTimeTaken) else OnlineTimeTaken()
    except ValidationError as exc:
        if set(getattr(exc, "error_dict", {})) & {"starts_at", "provider", "appointment_type"}:
            return _keep_verification(online_request, first_choice, now), exc
        # A rule only the office can judge (e.g. a new-patient-only visit for a known patient): it goes to the queue.
        online_request.status = OnlineRequestStatus.PENDING_APPROVAL
        audit_event(
            action="online_request.needs_review", target=online_request, actor_label=ONLINE_ACTOR_LABEL,
            summary="Could not be booked automatically: " + "; ".join(exc.messages)[:250],
        )
    online_request.save(update_fields=[
        "verified_at", "status", "provider", "starts_at", "ends_at", "patient", "appointment", "updated_at",
    ])
    tz = location_tz(schedule)
    if online_request.status == OnlineRequestStatus.BOOKED:
        audit_event(
            action="online_request.booked", target=online_request, patient=online_request.patient, actor_label=ONLINE_ACTOR_LABEL,
            summary=f"Booked online for {online_request.starts_at.astimezone(tz):%Y-%m-%d %H:%M} after e-mail verification",
        )
        transaction.on_commit(lambda: _mail(
            online_request, subject=f"Your appointment at {online_request.location.name} is booked",
            template="scheduling/email/online_booked.txt",
        ))
    else:
        audit_event(
            action="online_request.verified", target=online_request, actor_label=ONLINE_ACTOR_LABEL,
            summary="E-mail verified; waiting for the office's approval",
        )
    return online_request, None


def _keep_verification(online_request: OnlineBookingRequest, first_choice: tuple, now: datetime) -> OnlineBookingRequest:
    """Save the verified e-mail and give the patient a while to pick another time, keeping the stored time."""
    online_request.provider, online_request.starts_at, online_request.ends_at = first_choice
    online_request.patient = None
    online_request.appointment = None
    online_request.expires_at = max(online_request.expires_at, now + VERIFY_WINDOW)
    online_request.save(update_fields=["verified_at", "expires_at", "updated_at"])
    return online_request


# --- 3. the office's decision -------------------------------------------------------------------------


def _ensure_can_decide(actor: User, online_request: OnlineBookingRequest) -> None:
    if actor.organization_id != online_request.organization_id or not actor.has_perm_code(Perm.ONLINE_REQUESTS):
        raise ValidationError({"online_request": "No such request."})
    if online_request.status != OnlineRequestStatus.PENDING_APPROVAL:
        raise ValidationError({"online_request": f"This request is {online_request.get_status_display().lower()}; there is nothing to decide."})


@transaction.atomic
def online_request_approve(*, actor: User, online_request: OnlineBookingRequest) -> OnlineBookingRequest:
    """The office accepts a verified request: the patient is matched or registered and the time booked."""
    online_request = OnlineBookingRequest.objects.select_for_update().select_related(
        "location", "appointment_type", "provider", "organization"
    ).get(pk=online_request.pk)
    _ensure_can_decide(actor, online_request)
    try:
        _book(online_request, actor=actor)
    except BookingConflict as exc:
        raise ValidationError(
            {"starts_at": "That time is no longer free. Decline the request (the patient is told by e-mail) or call the patient."}
        ) from exc
    online_request.decided_by = actor
    online_request.save(update_fields=["status", "patient", "appointment", "decided_by", "updated_at"])
    audit_event(
        action="online_request.approved", actor=actor, target=online_request, patient=online_request.patient,
        summary="Online request approved and booked",
    )
    transaction.on_commit(lambda: _mail(
        online_request, subject=f"Your appointment at {online_request.location.name} is booked",
        template="scheduling/email/online_booked.txt",
    ))
    return online_request


@transaction.atomic
def online_request_decline(*, actor: User, online_request: OnlineBookingRequest, reason: str = "") -> OnlineBookingRequest:
    """The office turns a request down; the patient is told by e-mail (with the reason, when given)."""
    online_request = OnlineBookingRequest.objects.select_for_update().select_related(
        "location", "appointment_type", "provider", "organization"
    ).get(pk=online_request.pk)
    _ensure_can_decide(actor, online_request)
    reason = (reason or "").strip()[:300]
    online_request.status = OnlineRequestStatus.DECLINED
    online_request.decided_by = actor
    online_request.save(update_fields=["status", "decided_by", "updated_at"])
    audit_event(
        action="online_request.declined", actor=actor, target=online_request,
        summary=("Online request declined: " + reason)[:300] if reason else "Online request declined",
    )
    transaction.on_commit(lambda: _mail(
        online_request, subject=f"Your appointment request at {online_request.location.name}",
        template="scheduling/email/online_declined.txt", reason=reason,
    ))
    return online_request


@transaction.atomic
def online_requests_expire(*, now: datetime | None = None) -> int:
    """Mark unverified requests past their expiry as expired (they never held any time)."""
    now = now or timezone.now()
    return OnlineBookingRequest.objects.filter(
        status=OnlineRequestStatus.PENDING_VERIFICATION, expires_at__lte=now
    ).update(status=OnlineRequestStatus.EXPIRED, updated_at=now)
