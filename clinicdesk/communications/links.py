"""Signed links in messages: confirm, cancel, reschedule, read a letter, unsubscribe.

A link carries a random token; only its SHA-256 is stored (`ActionLink.token_hash`), so neither the table
nor a backup can be used to forge one. A link expires, and `link_use` lets it act once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .models import ActionLink


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A link's random token. One that happens to read as a word a text message may not carry ("...-Hiv...")
    is drawn again, so a reminder is never held back by its own link (about 1 in 10,000 tokens would be)."""
    from .services.outbox import sms_sensitive_problem

    while True:
        token = secrets.token_urlsafe(24)
        if sms_sensitive_problem(token) is None:
            return token


def link_issue(
    *, organization, action: str, expires_at: datetime | None = None, valid_for: timedelta = timedelta(days=7),
    patient=None, appointment=None, letter=None, message=None,
) -> tuple[ActionLink, str]:
    """Make a link; returns the row and the secret token (shown once, in the message's URL)."""
    [(link, token)] = links_issue_many(links=[LinkRequest(
        organization=organization, action=action, expires_at=expires_at, valid_for=valid_for, patient=patient,
        appointment=appointment, letter=letter, message=message)])
    return link, token


@dataclass(frozen=True)
class LinkRequest:
    """One link for `links_issue_many`: the arguments `link_issue` takes."""

    organization: object
    action: str
    expires_at: datetime | None = None
    valid_for: timedelta = timedelta(days=7)
    patient: object = None
    appointment: object = None
    letter: object = None
    message: object = None


def links_issue_many(*, links: list[LinkRequest]) -> list[tuple[ActionLink, str]]:
    """Make many links with one insert (a reminders sweep issues three per visit); returns each row with its
    secret token, in the order given."""
    now = timezone.now()
    made = []
    for request in links:
        token = new_token()
        appointment = request.appointment
        made.append((ActionLink(
            organization=request.organization, token_hash=_hash(token), action=request.action,
            patient=request.patient, appointment=appointment, letter=request.letter, message=request.message,
            expires_at=request.expires_at or now + request.valid_for,
            appointment_starts_at=appointment.starts_at if appointment is not None else None,
        ), token))
    if len(made) == 1:
        made[0][0].save(force_insert=True)
    elif made:
        ActionLink.objects.bulk_create([link for link, _ in made])
    return made


def link_path(token: str) -> str:
    """The site-relative URL of a link (the caller adds the practice's public base URL)."""
    return reverse("communications_public:link", args=[token])


# Stands for the token while the link path is reversed once for a batch (a token is never this word: it has
# 32 characters).
_SLOT = "slot"


def link_paths(tokens: list[str]) -> list[str]:
    """`link_path` of each token, with the URL reversed once for all of them (a sweep makes thousands); a token
    is URL-safe base64, which a path carries as it is."""
    if not tokens:
        return []
    before, _, after = reverse("communications_public:link", args=[_SLOT]).rpartition(_SLOT)
    return [f"{before}{token}{after}" for token in tokens]


def link_lookup(token: str) -> ActionLink | None:
    """The link for `token` whatever its state (used, expired), to tell the patient what became of it."""
    return ActionLink.objects.select_related("appointment", "patient", "letter").filter(token_hash=_hash(token)).first()


def link_find(token: str, *, action: str | None = None, now: datetime | None = None) -> ActionLink:
    """The live link for `token` (not used, not expired), or a ValidationError saying which it is."""
    link = ActionLink.objects.select_related("appointment", "patient", "letter").filter(token_hash=_hash(token)).first()
    if link is None or (action is not None and link.action != action):
        raise ValidationError({"token": "This link is not valid."})
    if link.used_at is not None:
        raise ValidationError({"token": "This link was already used."})
    if link.expires_at <= (now or timezone.now()):
        raise ValidationError({"token": "This link has expired."})
    return link


@transaction.atomic
def link_use(token: str, *, action: str | None = None, now: datetime | None = None) -> ActionLink:
    """Mark the link used, once: two clicks at the same moment get one success and one 'already used'."""
    link = link_find(token, action=action, now=now)
    used = ActionLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=now or timezone.now(),
                                                                              updated_at=timezone.now())
    if not used:
        raise ValidationError({"token": "This link was already used."})
    link.refresh_from_db()
    return link


def public_url(path: str) -> str:
    """An absolute URL on the practice's public address (settings.PUBLIC_BASE_URL), for links in messages."""
    from django.conf import settings

    return getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/") + path


def unsubscribe_link_issue(*, organization, patient, valid_for: timedelta = timedelta(days=90)) -> tuple[ActionLink, str]:
    """An unsubscribe link for a message to `patient`; returns the row (set its `message` once queued) and the URL."""
    link, token = link_issue(organization=organization, action="unsubscribe", patient=patient, valid_for=valid_for)
    return link, public_url(link_path(token))


def link_attach(link: ActionLink, message) -> None:
    """Tie a link to the message that carries it (the unsubscribe link then knows the channel)."""
    link.message = message
    link.save(update_fields=["message", "updated_at"])
