"""Every write to the practice's own records: users, the organization's sign-in rules, API tokens."""

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import audit_event
from .choices import Role
from .models import ApiToken, Location, Organization, User
from .permissions import ROLE_PERMISSIONS, Perm
from .selectors import role_assignable

API_TOKEN_MAX_DAYS = 365
IDLE_TIMEOUT_MAX_MINUTES = 240
SESSION_MAX_HOURS_LIMIT = 24


def _require(actor: User, code: str) -> None:
    if not actor.has_perm_code(code):
        raise PermissionDenied(f"Needs {code}")


def _check_manageable(*, user: User, actor: User) -> None:
    """The actor may manage this user: same organization, and not a role above the actor's own."""
    _require(actor, Perm.USERS_MANAGE)
    if user.organization_id != actor.organization_id:
        raise ValidationError({"user": "No such user in your organization."})
    if user.is_superuser and not actor.is_superuser:
        raise ValidationError({"user": "This account is managed by the site administrator."})
    if user.role and not role_assignable(actor=actor, role=user.role):
        raise ValidationError({"user": f"Only someone with at least the {user.get_role_display()} role can change this user."})


def _clean_locations(*, actor: User, locations: Iterable[Location]) -> list[Location]:
    chosen = list(locations)
    if any(loc.organization_id != actor.organization_id for loc in chosen):
        raise ValidationError({"locations": "Choose locations of your own organization."})
    return chosen


def _check_email_free(*, email: str, user: User | None = None) -> None:
    # Sign-in accepts the e-mail address, so two accounts may never share one.
    if not email:
        return
    taken = User.objects.filter(email__iexact=email)
    if user is not None and user.pk:
        taken = taken.exclude(pk=user.pk)
    if taken.exists():
        raise ValidationError({"email": "Another account already uses this e-mail address."})


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    password: str,
    title: str = "",
    locations: Iterable[Location] = (),
) -> User:
    """Add a staff member to the actor's organization, with a role no higher than the actor's own."""
    _require(actor, Perm.USERS_MANAGE)
    if not role_assignable(actor=actor, role=role):
        raise ValidationError({"role": "You cannot give a role with more rights than your own."})
    chosen = _clean_locations(actor=actor, locations=locations)
    user = User(
        username=(username or "").strip(),
        first_name=(first_name or "").strip(),
        last_name=(last_name or "").strip(),
        email=(email or "").strip().lower(),
        title=(title or "").strip(),
        role=role,
        organization_id=actor.organization_id,
        is_active=True,
    )
    _check_email_free(email=user.email)
    user.full_clean(exclude=["password"])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    user.locations.set(chosen)
    audit_event(
        action="user.created",
        actor=actor,
        target=user,
        summary=f"Created {user.username} as {user.get_role_display()}",
        changes={"role": [None, role], "locations": [None, sorted(loc.code for loc in chosen)]},
    )
    return user


@transaction.atomic
def user_update(
    *,
    user: User,
    actor: User,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    title: str = "",
    locations: Iterable[Location] = (),
) -> User:
    """Change a staff member's details, role and locations. A role change is audited as its own action."""
    _check_manageable(user=user, actor=actor)
    if role != user.role:
        if user.pk == actor.pk:
            raise ValidationError({"role": "You cannot change your own role; ask another manager."})
        if not role_assignable(actor=actor, role=role):
            raise ValidationError({"role": "You cannot give a role with more rights than your own."})
    chosen = _clean_locations(actor=actor, locations=locations)
    before = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "title": user.title,
        "role": user.role,
        "locations": sorted(user.locations.values_list("code", flat=True)),
    }
    user.first_name = (first_name or "").strip()
    user.last_name = (last_name or "").strip()
    user.email = (email or "").strip().lower()
    user.title = (title or "").strip()
    user.role = role
    _check_email_free(email=user.email, user=user)
    user.full_clean(exclude=["password"])
    user.save(update_fields=["first_name", "last_name", "email", "title", "role", "updated_at"])
    user.locations.set(chosen)
    after = {**{k: getattr(user, k) for k in ("first_name", "last_name", "email", "title", "role")},
             "locations": sorted(loc.code for loc in chosen)}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        role_changed = "role" in changes
        audit_event(
            action="user.role_changed" if role_changed else "user.updated",
            actor=actor,
            target=user,
            summary=(f"{user.username}: role {before['role'] or '—'} → {role}" if role_changed else f"{user.username} updated"),
            changes=changes,
        )
    return user


@transaction.atomic
def user_deactivate(*, user: User, actor: User) -> User:
    """Turn a user off at once: sign-ins refused, every open session ended, API tokens revoked.

    The sessions are ended by the User post_save receiver, so unticking "active" anywhere
    (the admin, a shell) has the same effect.
    """
    if user.pk == actor.pk:
        raise ValidationError({"user": "You cannot deactivate your own account."})
    _check_manageable(user=user, actor=actor)
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active", "updated_at"])
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_event(
        action="user.deactivated",
        actor=actor,
        target=user,
        summary=f"Deactivated {user.username}; every session ended, {revoked} API token(s) revoked",
    )
    return user


@transaction.atomic
def user_reactivate(*, user: User, actor: User) -> User:
    """Let a deactivated user sign in again. Their old sessions and tokens stay ended."""
    _check_manageable(user=user, actor=actor)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active", "updated_at"])
    audit_event(action="user.reactivated", actor=actor, target=user, summary=f"Reactivated {user.username}")
    return user


def user_sessions_end(*, user: User) -> int:
    """Delete every session of the user, tracked by allauth or not. Returns how many were ended."""
    from allauth.usersessions.models import UserSession

    keys = set(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    UserSession.objects.filter(user=user).delete()
    # Sessions allauth did not track (made before tracking, or by other sign-in paths) are found by decoding.
    wanted = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get("_auth_user_id")) == wanted:
            keys.add(session.session_key)
    if not keys:
        return 0
    return Session.objects.filter(session_key__in=keys).delete()[0]


@transaction.atomic
def organization_security_update(
    *,
    organization: Organization,
    actor: User,
    require_mfa: bool,
    idle_timeout_minutes: int,
    session_max_hours: int,
) -> Organization:
    """Change how staff sign in: required two-factor, idle timeout and the longest a session may last."""
    _require(actor, Perm.PRACTICE_MANAGE)
    if organization.pk != actor.organization_id:
        raise PermissionDenied("Not your organization")
    errors = {}
    if not 1 <= idle_timeout_minutes <= IDLE_TIMEOUT_MAX_MINUTES:
        errors["idle_timeout_minutes"] = f"Between 1 and {IDLE_TIMEOUT_MAX_MINUTES} minutes."
    if not 1 <= session_max_hours <= SESSION_MAX_HOURS_LIMIT:
        errors["session_max_hours"] = f"Between 1 and {SESSION_MAX_HOURS_LIMIT} hours."
    if not errors and idle_timeout_minutes > session_max_hours * 60:
        errors["idle_timeout_minutes"] = "The idle timeout cannot be longer than the session lifetime."
    if errors:
        raise ValidationError(errors)
    fields = ("require_mfa", "idle_timeout_minutes", "session_max_hours")
    before = {f: getattr(organization, f) for f in fields}
    organization.require_mfa = bool(require_mfa)
    organization.idle_timeout_minutes = idle_timeout_minutes
    organization.session_max_hours = session_max_hours
    organization.full_clean()
    organization.save(update_fields=[*fields, "updated_at"])
    changes = {f: [before[f], getattr(organization, f)] for f in fields if before[f] != getattr(organization, f)}
    if changes:
        audit_event(
            action="organization.security_changed",
            actor=actor,
            target=organization,
            organization_id=organization.pk,
            summary="Sign-in rules changed: " + ", ".join(f"{k} {v[0]} → {v[1]}" for k, v in changes.items()),
            changes=changes,
        )
    return organization


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
    """Stop a token working at once; a manager may revoke any token of the organization."""
    if token.user_id != actor.pk and not (actor.organization_id == token.user.organization_id and actor.has_perm_code("users.manage")):
        raise ValidationError({"token": "No such token."})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_event(action="api_token.revoked", actor=actor, target=token, summary=f"API token '{token.name}' revoked")
    return token


@transaction.atomic
def provider_placeholder_create(*, actor: User, npi: str, first_name: str, last_name: str, title: str = "") -> User:
    """An outside clinician known only by NPI and name (an imported visit names them): kept as an inactive clinician
    account with no usable password, so records can point at them and nobody can sign in as them."""
    _require(actor, Perm.USERS_MANAGE)
    npi = (npi or "").strip()
    organization = Organization.objects.get(pk=actor.organization_id)
    user = User(
        username=f"{organization.slug}-npi-{npi}"[:150], first_name=(first_name or "").strip()[:150], last_name=(last_name or "").strip()[:150],
        title=(title or "").strip()[:60], npi=npi, role=Role.CLINICIAN, organization_id=actor.organization_id,
        is_active=False,
    )
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit_event(action="user.placeholder_created", actor=actor, target=user,
                summary=f"Outside provider {user.get_full_name() or npi} (NPI {npi}) kept as an inactive placeholder")
    return user


@transaction.atomic
def location_placeholder_create(*, actor: User, code: str, name: str) -> Location:
    """An outside place of service known only by identifier and name: an inactive location, never offered for
    booking, that imported visits can point at."""
    _require(actor, Perm.USERS_MANAGE)
    location = Location(organization_id=actor.organization_id, code=code, name=(name or code)[:120], is_active=False)
    location.full_clean()
    location.save()
    audit_event(action="location.placeholder_created", actor=actor, target=location,
                summary=f"Outside location {location.name} ({code}) kept as an inactive placeholder")
    return location
