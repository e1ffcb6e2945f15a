"""The practice's own pages: today, the audit log, users, sign-in rules and API tokens; error pages."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .access import public, requires
from .audit import audit_denied, audit_event
from .choices import AuditChannel
from .csv_export import csv_response
from .forms import ApiTokenForm, AuditFilterForm, OrganizationSecurityForm, UserChangeForm, UserCreateForm
from .models import ApiToken
from .permissions import Perm


def _form_errors(form: Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form, field by field where the field exists."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages_ in errors.items():
        form.add_error(field if field in form.fields else None, messages_)


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


def _audit_filters(request: HttpRequest) -> tuple[AuditFilterForm, dict[str, str] | None]:
    """The filter form and its cleaned filters; None when the filters are invalid."""
    form = AuditFilterForm(request.GET)
    return form, (form.filters() if form.is_valid() else None)


@requires(Perm.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    form, filters = _audit_filters(request)
    events = selectors.audit_event_list(actor=request.user, filters={}).none()
    if filters is not None:
        try:
            events = selectors.audit_event_list(actor=request.user, filters=filters)
        except ValidationError as exc:
            _form_errors(form, exc)
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
    form, filters = _audit_filters(request)
    if filters is None:
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    try:
        events = selectors.audit_event_list(actor=request.user, filters=filters)
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=400)
    used = {k: v for k, v in filters.items() if v}
    audit_event(
        action="audit.exported", actor=request.user, channel=AuditChannel.EXPORT,
        summary=f"Audit log exported with filters {used or 'none'}", changes={"filters": used},
    )
    header = ["time (UTC)", "user", "action", "outcome", "channel", "patient", "record", "summary", "ip", "request id"]
    rows = (
        [e.created_at.isoformat(), e.actor_label, e.action, e.outcome, e.channel, e.patient_label,
         f"{e.target_type}:{e.target_id}" if e.target_type else "", e.summary, e.ip_address or "", e.request_id]
        for e in events.iterator(chunk_size=2000)
    )
    return csv_response("audit-log.csv", header, rows)


@requires(Perm.USERS_MANAGE)
def user_list(request: HttpRequest) -> HttpResponse:
    users = list(selectors.user_list(actor=request.user).prefetch_related("locations"))
    for u in users:
        u.manageable = u.pk != request.user.pk and selectors.role_assignable(actor=request.user, role=u.role) and (
            request.user.is_superuser or not u.is_superuser
        )
    return render(request, "core/user_list.html", {"users": users})


def _user_form(request: HttpRequest, form_class, **kwargs):
    return form_class(
        request.POST if request.method == "POST" else None,
        roles=selectors.assignable_roles(actor=request.user),
        locations=selectors.location_list(actor=request.user),
        **kwargs,
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.USERS_MANAGE)
def user_create(request: HttpRequest) -> HttpResponse:
    form = _user_form(request, UserCreateForm)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{user.username} can now sign in as {user.get_role_display()}.")
            return redirect("core:user_list")
    return render(request, "core/user_form.html", {"form": form, "subject": None})


@require_http_methods(["GET", "POST"])
@requires(Perm.USERS_MANAGE)
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    subject = get_object_or_404(selectors.user_list(actor=request.user), pk=user_id)
    initial = {
        "first_name": subject.first_name, "last_name": subject.last_name, "email": subject.email,
        "title": subject.title, "role": subject.role, "locations": list(subject.locations.all()),
    }
    form = _user_form(request, UserChangeForm, initial=initial)
    if subject.role and (subject.role, subject.get_role_display()) not in form.fields["role"].choices:
        # Keep the current role visible even when the actor could not give it.
        form.fields["role"].choices.append((subject.role, subject.get_role_display()))
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(user=subject, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{subject.username} is updated.")
            return redirect("core:user_list")
    return render(request, "core/user_form.html", {"form": form, "subject": subject})


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


@require_POST
@requires(Perm.USERS_MANAGE)
def user_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(selectors.user_list(actor=request.user), pk=user_id)
    try:
        services.user_reactivate(user=user, actor=request.user)
        messages.success(request, f"{user} can sign in again.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("core:user_list")


@require_http_methods(["GET", "POST"])
@requires(Perm.PRACTICE_MANAGE)
def organization_settings(request: HttpRequest) -> HttpResponse:
    organization = request.user.organization
    form = OrganizationSecurityForm(
        request.POST if request.method == "POST" else None,
        initial={f: getattr(organization, f) for f in ("require_mfa", "idle_timeout_minutes", "session_max_hours")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_security_update(organization=organization, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Sign-in rules saved.")
            return redirect("core:organization_settings")
    return render(request, "core/organization_settings.html", {"form": form, "organization": organization})


@requires(Perm.API_TOKENS)
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
@requires(Perm.API_TOKENS)
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("core:api_tokens")


@public
def admin_login(request: HttpRequest, extra_context=None) -> HttpResponse:
    """The Django admin signs in through allauth too, so its sign-in has the same throttling and two-factor step."""
    if request.user.is_authenticated:
        # Signed in but not a superuser: sending them to the sign-in page would loop back here.
        raise PermissionDenied("The site administration is for superusers.")
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form post (missing or stale CSRF token), shown in the product's layout."""
    audit_denied(request, action="access.csrf_rejected")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "CSRF check failed."}, status=403)
    return render(request, "403.html", {"csrf_failed": True}, status=403)


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    audit_denied(request, action="access.denied")
    if request.path.startswith("/api/") or request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"detail": "You do not have permission for this."}, status=403)
    return render(request, "403.html", status=403)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "400.html", status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


