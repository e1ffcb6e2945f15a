"""How the REST API knows who is calling and what they may do.

Personal API tokens (Bearer) or the signed-in browser session (with CSRF). Every route then
declares the permission it needs with `api_requires`; a token adds its own scopes on top of the role.
"""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja.operation import PathView
from ninja.security import APIKeyCookie, HttpBearer

from .audit import audit_event
from .choices import AuditOutcome
from .models import ApiToken
from .prepared import PreparedQuery

API_ACCESS_ATTR = "clinicdesk_api_access"

# Every API call starts here, so its SQL is prepared once (see core/prepared.py).
_TOKEN_BY_HASH = PreparedQuery(
    lambda token_hash: ApiToken.objects.select_related("user", "user__organization").filter(token_hash=token_hash).order_by()[:1]
)


def _allowed(user, token: ApiToken | None, codes: tuple[str, ...]) -> bool:
    return all(user.has_perm_code(c) for c in codes) and (token is None or all(c in token.scopes for c in codes))


def _declared_codes(request: HttpRequest) -> tuple[str, ...] | None:
    """The codes the called operation declares with `api_requires`, known before its input is parsed."""
    func = getattr(getattr(request, "resolver_match", None), "func", None)
    for cell in getattr(func, "__closure__", None) or ():
        try:
            path_view = cell.cell_contents
        except ValueError:
            continue
        if isinstance(path_view, PathView):
            operation = path_view._find_operation(request)
            return getattr(operation.view_func, API_ACCESS_ATTR, None) if operation is not None else None
    return None


def _check_before_parsing(request: HttpRequest, user, token: ApiToken | None) -> None:
    # Refuse a caller who lacks the permission before the request body is validated, so that a
    # malformed body never tells them more (a 400 naming the fields) than a plain 403 would.
    codes = _declared_codes(request)
    if codes and not _allowed(user, token, codes):
        raise PermissionDenied(f"Needs {', '.join(codes)}")


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cdk_…`: a personal token, looked up by its hash."""

    def authenticate(self, request: HttpRequest, token: str):
        if not token.startswith("cdk_"):
            return None
        found = _TOKEN_BY_HASH.first(token_hash=ApiToken.hash_secret(token))
        if found is None or not found.is_usable:
            audit_event(action="api.token_rejected", outcome=AuditOutcome.DENIED, summary="Unknown, expired or revoked API token")
            return None
        now = timezone.now()
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        request.api_token = found
        _check_before_parsing(request, found.user, found)
        return found.user


class SessionAuth(APIKeyCookie):
    """The browser's signed-in session; unsafe methods must carry the CSRF token."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.api_token = None
            _check_before_parsing(request, user, None)
            return user
        return None


def api_requires(*codes: str) -> Callable[[Callable], Callable]:
    """Declare and enforce the permission codes an API route needs (role, and token scopes when a token is used)."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = request.user
            token = getattr(request, "api_token", None)
            if not _allowed(user, token, codes):
                raise PermissionDenied(f"Needs {', '.join(codes)}")
            return func(request, *args, **kwargs)

        setattr(wrapped, API_ACCESS_ATTR, codes)
        return wrapped

    return decorator
