"""Request-wide rules: audit context, session lifetimes, required MFA, and deny-by-default."""

import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from .access import view_access
from .audit import RequestContext, request_context
from .choices import AuditChannel

# Modules whose views guard themselves: allauth's sign-in flow, the admin (superusers only),
# Django's static file view, and the API (every route declares its auth).
SELF_GUARDED_MODULES = ("allauth.", "django.contrib.admin.", "django.contrib.staticfiles.", "django.views.static", "ninja.")


class RequestContextMiddleware:
    """Carries who-and-where for audit rows and tags every response with a request id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request_id = request.headers.get("X-Request-ID", "")[:36] or str(uuid.uuid4())
        request.request_id = request_id
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if settings.PRODUCTION else ""
        ip = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR")
        channel = AuditChannel.API if request.path.startswith("/api/") else AuditChannel.PAGE
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


class SessionLifetimeMiddleware:
    """Ends a session after the organization's idle timeout or its absolute lifetime, whichever comes first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/api/"):
            now = time.time()
            org = user.organization
            idle = (org.idle_timeout_minutes * 60) if org else settings.SESSION_IDLE_TIMEOUT.total_seconds()
            lifetime = (org.session_max_hours * 3600) if org else settings.SESSION_ABSOLUTE_LIFETIME.total_seconds()
            started = request.session.setdefault("started_at", now)
            last_seen = request.session.get("last_seen", now)
            if now - last_seen > idle or now - started > lifetime:
                from .audit import audit_event

                audit_event(action="session.expired", actor=user, summary="Signed out after inactivity or session lifetime")
                logout(request)
                return redirect_to_login(request.get_full_path())
            # Polling endpoints do not count as activity.
            if request.headers.get("X-Idle-Poll") != "1":
                request.session["last_seen"] = now
        return self.get_response(request)


class MfaRequiredMiddleware:
    """When the organization requires MFA, a user without an authenticator may only set one up."""

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
            and not request.path.startswith("/api/")
        ):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


class DenyByDefaultMiddleware:
    """Refuses any view that has not declared what it needs (see core.access)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if view_access(view_func) is not None:
            return None
        module = getattr(view_func, "__module__", "") or ""
        if module.startswith(SELF_GUARDED_MODULES):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied("This page has not declared who may open it.")
