"""Every write to the practice's own records: users, API tokens."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import audit_event
from .models import ApiToken, User
from .permissions import ROLE_PERMISSIONS

API_TOKEN_MAX_DAYS = 365


@transaction.atomic
def user_deactivate(*, user: User, actor: User) -> User:
    """Turn a user off at once: sign-ins refused, every open session ended, API tokens stop working."""
    if user.pk == actor.pk:
        raise ValidationError({"user": "You cannot deactivate your own account."})
    if user.organization_id != actor.organization_id:
        raise ValidationError({"user": "No such user in your organization."})
    user.is_active = False
    user.save(update_fields=["is_active", "updated_at"])
    ended = _end_sessions(user)
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_event(action="user.deactivated", actor=actor, target=user, summary=f"Deactivated {user.username}; {ended} session(s) ended")
    return user


def _end_sessions(user: User) -> int:
    from allauth.usersessions.models import UserSession

    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    UserSession.objects.filter(user=user).delete()
    # Sessions that allauth did not track (e.g. made before tracking) are found by decoding.
    stale = [s.session_key for s in Session.objects.filter(expire_date__gt=timezone.now()) if s.get_decoded().get("_auth_user_id") == str(user.pk)]
    return Session.objects.filter(session_key__in=set(keys) | set(stale)).delete()[0]


@transaction.atomic
def api_token_create(*, user: User, name: str, scopes: list[str], days: int) -> tuple[ApiToken, str]:
    """Issue a personal token. The secret is returned once and only its hash is kept."""
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Give the token a name you will recognise."
    allowed = ROLE_PERMISSIONS.get(user.role, frozenset())
    unknown = [s for s in scopes if s not in allowed]
    if not scopes:
        errors["scopes"] = "Choose at least one scope."
    elif unknown:
        errors["scopes"] = f"Not allowed for your role: {', '.join(unknown)}."
    if not 1 <= days <= API_TOKEN_MAX_DAYS:
        errors["days"] = f"A token lasts between 1 and {API_TOKEN_MAX_DAYS} days."
    if errors:
        raise ValidationError(errors)
    secret = ApiToken.new_secret()
    token = ApiToken(
        user=user,
        name=name,
        prefix=secret[4 : 4 + ApiToken.PREFIX_LEN],
        token_hash=ApiToken.hash_secret(secret),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=days),
    )
    token.full_clean()
    token.save()
    audit_event(action="api_token.created", actor=user, target=token, summary=f"API token '{name}' created")
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    if token.user_id != actor.pk and not (actor.organization_id == token.user.organization_id and actor.has_perm_code("users.manage")):
        raise ValidationError({"token": "No such token."})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_event(action="api_token.revoked", actor=actor, target=token, summary=f"API token '{token.name}' revoked")
    return token
