"""Who is calling the FHIR API and what they may do: a bearer token, its scopes, the user's role, the practice.

Deny by default: no token, an unknown, expired or revoked one, a user no longer active or no longer in the
token's practice is 401; a scope or a role permission missing for the resource is 403. Every refusal is
written to the audit trail.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import AuditChannel, AuditOutcome

from .models import FhirToken
from .outcomes import FhirError, Issue
from .scopes import role_allows, scopes_cover

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="clinicdesk FHIR"'}
# Writing last_used_at on every call would turn each read into a write; once a minute is enough to see use.
LAST_USED_EVERY_SECONDS = 60


def _refuse(summary: str, *, token: FhirToken | None = None, error: str = "invalid_token") -> FhirError:
    audit_event(
        action="fhir.token_rejected", outcome=AuditOutcome.DENIED, channel=AuditChannel.API, summary=summary[:300],
        actor=token.user if token is not None else None, organization_id=token.organization_id if token else None,
    )
    return FhirError(
        401, Issue(summary, code="login"),
        headers={"WWW-Authenticate": f'Bearer realm="clinicdesk FHIR", error="{error}"'},
    )


def authenticate(request: HttpRequest) -> FhirToken:
    """The usable token the request carries, with its user as `request.user`; else FhirError(401)."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if not header:
        raise FhirError(401, Issue("Send an access token: Authorization: Bearer cdf_…", code="login"), headers=CHALLENGE)
    if scheme.lower() != "bearer" or not secret.startswith(FhirToken.SECRET_PREFIX):
        raise _refuse("The Authorization header is not a FHIR bearer token.")
    token = (
        FhirToken.objects.select_related("user", "user__organization", "organization")
        .filter(token_hash=FhirToken.hash_secret(secret))
        .first()
    )
    if token is None:
        raise _refuse("Unknown access token.")
    if not token.is_usable:
        raise _refuse(f"The access token '{token.name}' is {token.status if token.status != 'active' else 'no longer valid'}.",
                      token=token)
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_EVERY_SECONDS:
        FhirToken.objects.filter(pk=token.pk).update(last_used_at=now)
    request.user = token.user
    request.fhir_token = token
    return token


def require(request: HttpRequest, token: FhirToken, resource: str, access: str) -> None:
    """Refuse (403, audited) unless the token's scopes and the user's role both allow `access` to `resource`."""
    if not scopes_cover(token.scopes, resource, access):
        message = f"The token's scopes do not include user/{resource}.{access}."
    elif not role_allows(token.user, resource, access):
        message = f"The role of {token.user.username} does not allow {access} on {resource}."
    else:
        return
    audit_event(
        action="access.denied", actor=token.user, outcome=AuditOutcome.DENIED, channel=AuditChannel.API,
        summary=f"{request.method} {request.path}: {message}"[:300],
    )
    raise FhirError(403, Issue(message, code="forbidden"),
                    headers={"WWW-Authenticate": 'Bearer realm="clinicdesk FHIR", error="insufficient_scope"'})
