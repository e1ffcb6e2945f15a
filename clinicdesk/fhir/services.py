"""Every write of the FHIR app's own records: issuing and revoking client tokens.

Appointments booked or cancelled through FHIR go through the scheduling services (see views.py); nothing here
changes another app's rows.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from .models import FhirToken
from .scopes import parse_scope

TOKEN_MAX_DAYS = 365


@transaction.atomic
def fhir_token_create(
    *, actor: User | None, user: User, name: str, scopes: list[str], days: int, secret: str | None = None
) -> tuple[FhirToken, str]:
    """Issue a token acting as `user`; the secret is returned once and only its hash is kept.

    `actor` is the practice administrator issuing it (None from the command line and the demo). The user must
    be active and of a practice, and the actor of the same practice. `secret` is for the demo practice's
    published token only; every other token gets a random one.
    """
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Give the token a name you will recognise, e.g. 'patient portal'."
    if actor is not None and not actor.has_perm_code(Perm.PRACTICE_MANAGE):
        errors["user"] = "Only a practice administrator issues FHIR tokens."
    elif user is None or not user.is_active or not user.organization_id or not user.role:
        errors["user"] = "Choose an active staff member of the practice."
    elif actor is not None and user.organization_id != actor.organization_id:
        errors["user"] = "Choose a staff member of your own practice."
    cleaned: list[str] = []
    if not scopes:
        errors["scopes"] = "Choose at least one scope."
    for text in scopes or ():
        try:
            parse_scope(text)
        except ValueError as exc:
            errors["scopes"] = str(exc)
            break
        if text not in cleaned:
            cleaned.append(text.strip())
    if not isinstance(days, int) or not 1 <= days <= TOKEN_MAX_DAYS:
        errors["days"] = f"A token lasts between 1 and {TOKEN_MAX_DAYS} days."
    if secret is not None and (not secret.startswith(FhirToken.SECRET_PREFIX) or len(secret) < 32):
        errors["secret"] = f"A token secret starts with {FhirToken.SECRET_PREFIX} and is at least 32 characters long."
    if errors:
        raise ValidationError(errors)
    secret = secret or FhirToken.new_secret()
    now = timezone.now()
    token = FhirToken(
        organization_id=user.organization_id, user=user, name=name, prefix=secret[4 : 4 + FhirToken.PREFIX_LEN],
        token_hash=FhirToken.hash_secret(secret), scopes=cleaned, expires_at=now + timedelta(days=days), created_by=actor,
    )
    token.full_clean()
    token.save()
    audit_event(
        action="fhir_token.created", actor=actor, target=token, organization_id=token.organization_id,
        actor_label="" if actor else "manage.py", summary=f"FHIR token '{name}' for {user.username}: {' '.join(cleaned)}"[:300],
    )
    return token, secret


@transaction.atomic
def fhir_token_revoke(*, actor: User, token: FhirToken) -> FhirToken:
    """Stop a token working at once (a practice administrator of the token's practice)."""
    if not actor.has_perm_code(Perm.PRACTICE_MANAGE) or actor.organization_id != token.organization_id:
        raise ValidationError({"token": "No such token."})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        audit_event(action="fhir_token.revoked", actor=actor, target=token, summary=f"FHIR token '{token.name}' revoked")
    return token
