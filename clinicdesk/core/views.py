"""The practice's own pages: today, the audit log, users and API tokens; error pages."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import selectors, services
from .access import public, requires, signed_in
from .audit import audit_event
from .choices import AuditOutcome
from .csv_export import csv_response
from .forms import ApiTokenForm, AuditFilterForm
from .models import ApiToken
from .permissions import Perm


@requires(Perm.DASHBOARD)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {})


@public
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception:  # noqa: BLE001  (the health check reports, it does not raise)
        return JsonResponse({"status": "database unavailable"}, status=503)


def _audit_filters(request: HttpRequest) -> tuple[AuditFilterForm, dict]:
    form = AuditFilterForm(request.GET or None)
    return form, {k: request.GET.get(k, "") for k in selectors.AUDIT_FILTERS}


@requires(Perm.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    form, filters = _audit_filters(request)
    try:
        events = selectors.audit_event_list(actor=request.user, filters=filters)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        events = selectors.audit_event_list(actor=request.user, filters={})
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode(), "can_export": request.user.has_perm_code(Perm.AUDIT_EXPORT)},
    )


@requires(Perm.AUDIT_EXPORT)
def audit_log_export(request: HttpRequest) -> HttpResponse:
    _, filters = _audit_filters(request)
    try:
        events = selectors.audit_event_list(actor=request.user, filters=filters)
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=400)
    audit_event(action="audit.exported", actor=request.user, summary=f"Audit log exported with filters {filters}")
    header = ["time (UTC)", "user", "action", "outcome", "channel", "patient", "record", "summary", "ip", "request id"]
    rows = (
        [e.created_at.isoformat(), e.actor_label, e.action, e.outcome, e.channel, e.patient_label,
         f"{e.target_type}:{e.target_id}" if e.target_type else "", e.summary, e.ip_address or "", e.request_id]
        for e in events.iterator(chunk_size=2000)
    )
    return csv_response("audit-log.csv", header, rows)


@requires(Perm.USERS_MANAGE)
def user_list(request: HttpRequest) -> HttpResponse:
    users = selectors.user_list(actor=request.user).prefetch_related("locations")
    return render(request, "core/user_list.html", {"users": users})


@require_POST
@requires(Perm.USERS_MANAGE)
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(selectors.user_list(actor=request.user), pk=user_id)
    try:
        services.user_deactivate(user=user, actor=request.user)
        messages.success(request, f"{user} is deactivated and signed out everywhere.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("core:user_list")


@signed_in
def api_tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None, role=request.user.role)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _, secret = services.api_token_create(user=request.user, **form.cleaned_data)
            form = ApiTokenForm(role=request.user.role)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    tokens = ApiToken.objects.filter(user=request.user)
    return render(request, "core/api_tokens.html", {"form": form, "tokens": tokens, "secret": secret})


@require_POST
@signed_in
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("core:api_tokens")


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    user = getattr(request, "user", None)
    audit_event(
        action="access.denied",
        actor=user if user is not None and user.is_authenticated else None,
        outcome=AuditOutcome.DENIED,
        summary=f"{request.method} {request.path}"[:300],
    )
    if request.path.startswith("/api/") or request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"detail": "You do not have permission for this."}, status=403)
    return render(request, "403.html", status=403)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "400.html", status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


