"""Request-wide rules: audit context, session lifetimes, required MFA, and deny-by-default."""

import functools
import ipaddress
import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from .access import view_access
from .audit import RequestContext, request_context
from .choices import AuditChannel, AuditOutcome

SESSION_STARTED_KEY = "started_at"
# Paths of the machine-facing APIs (the REST API and the FHIR API): audited on the API channel.
API_PREFIXES = ("/api/", "/fhir/")
SESSION_LAST_SEEN_KEY = "last_seen"

# Modules whose views guard themselves: allauth's sign-in flow, the admin (superusers only),
# Django's static file view, and the API (every route declares its auth).
SELF_GUARDED_MODULES = ("allauth.", "django.contrib.admin.", "django.contrib.staticfiles.", "django.views.static", "ninja.")


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address. Behind N trusted proxies it is the N-th address from the right of
    X-Forwarded-For (the leftmost ones are whatever the client chose to send)."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    proxies = getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
    if not proxies:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    return (_valid_ip(hops[-proxies]) if len(hops) >= proxies else None) or remote


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


class RequestContextMiddleware:
    """Carries who-and-where for audit rows and tags every response with a request id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query or "\x00" in request.path:
            # A NUL is never part of a real search or filter, and PostgreSQL refuses it in text: a 400 here,
            # rather than a 500 wherever a view happens to pass the value to a query.
            raise BadRequest("NUL character in the URL")
        request_id = request.headers.get("X-Request-ID", "")[:36] or str(uuid.uuid4())
        request.request_id = request_id
        ip = client_ip(request)
        channel = AuditChannel.API if request.path.startswith(API_PREFIXES) else AuditChannel.PAGE
        token = request_context.set(
            RequestContext(
                ip_address=ip or None,
                user_agent=request.headers.get("User-Agent", ""),
                request_id=request_id,
                path=request.path,
                channel=channel,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class SessionLifetimeMiddleware:
    """Ends a session after the organization's idle timeout or its absolute lifetime, whichever comes first.

    Applies to pages and to session-authenticated API calls alike (token calls carry no session).
    The clock starts at sign-in (see accounts.session_clock_start).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def limits(user) -> tuple[float, float]:
        """(idle seconds, lifetime seconds) for the user's organization, or the site defaults."""
        org = user.organization if user.organization_id else None
        idle = (org.idle_timeout_minutes * 60) if org else settings.SESSION_IDLE_TIMEOUT.total_seconds()
        lifetime = (org.session_max_hours * 3600) if org else settings.SESSION_ABSOLUTE_LIFETIME.total_seconds()
        return idle, lifetime

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            idle, lifetime = self.limits(user)
            started = _as_seconds(request.session.get(SESSION_STARTED_KEY), now)
            last_seen = _as_seconds(request.session.get(SESSION_LAST_SEEN_KEY), now)
            if now - last_seen > idle or now - started > lifetime:
                from .audit import audit_event

                reason = "inactivity" if now - last_seen > idle else "the session lifetime"
                audit_event(action="session.expired", actor=user, summary=f"Signed out after {reason}")
                logout(request)
                if _is_api(request):
                    return JsonResponse({"detail": "Your session has ended; sign in again."}, status=401)
                return redirect_to_login(request.get_full_path())
            request.session.setdefault(SESSION_STARTED_KEY, now)
            # Polling endpoints do not count as activity.
            if request.headers.get("X-Idle-Poll") != "1":
                request.session[SESSION_LAST_SEEN_KEY] = now
        return self.get_response(request)


def _as_seconds(value, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return 0.0  # an unreadable timestamp ends the session rather than extending it


class MfaRequiredMiddleware:
    """When the organization requires MFA, a user without an authenticator may only set one up.

    Pages redirect to the authenticator set-up; session-authenticated API calls are refused
    (403). A call with an API token is judged by the token alone: the session is set aside.
    """

    ALLOWED_PREFIXES = ("/accounts/", "/static/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.organization_id
            and user.organization.require_mfa
            and not request.path.startswith(self.ALLOWED_PREFIXES)
            and not mfa_enabled(user)
        ):
            if _is_api(request):
                if request.headers.get("Authorization", "").startswith("Bearer "):
                    request.user = AnonymousUser()
                    return self.get_response(request)
                from .audit import audit_event

                audit_event(
                    action="access.denied", actor=user, outcome=AuditOutcome.DENIED,
                    summary=f"{request.method} {request.path} without the required two-factor sign-in"[:300],
                )
                return JsonResponse(
                    {"detail": "Your organization requires two-factor sign-in. Set up an authenticator app first."},
                    status=403,
                )
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = reverse("mfa_activate_totp")
                return response
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


def mfa_enabled(user) -> bool:
    """Whether the user has an authenticator app set up (recovery codes alone do not count)."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def view_module(view_func) -> str:
    """The module a view comes from, looking through functools.partial (ninja's API root is one)."""
    while isinstance(view_func, functools.partial):
        view_func = view_func.func
    return getattr(view_func, "__module__", "") or ""


def is_self_guarded(view_func) -> bool:
    """Views that check access themselves: see SELF_GUARDED_MODULES; the admin marks every view it wraps
    in its own superuser check (`admin_site` / `model_admin` on the wrapper)."""
    if view_module(view_func).startswith(SELF_GUARDED_MODULES):
        return True
    return getattr(view_func, "admin_site", None) is not None or getattr(view_func, "model_admin", None) is not None


class DenyByDefaultMiddleware:
    """Refuses any view that has not declared what it needs (see core.access)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if view_access(view_func) is not None:
            return None
        if is_self_guarded(view_func):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied("This page has not declared who may open it.")
