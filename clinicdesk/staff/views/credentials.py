"""Credential pages: record, change, verify and remove a credential, and the compliance view of what has expired
or expires soon, by department."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.csv_export import csv_response
from clinicdesk.core.permissions import Perm

from .. import selectors
from ..forms import ComplianceFilterForm, CredentialForm, VerifyForm
from ..models import Credential
from ..services.credentials import credential_delete, credential_save, credential_verify
from .pages import audit_read, today
from .records import detail_url


def _credential(request: HttpRequest, credential_id: int) -> Credential:
    credential = Credential.objects.filter(pk=credential_id, organization_id=request.user.organization_id).select_related(
        "staff").first()
    if credential is None:
        raise Http404("No such credential.")
    return credential


def _credential_form(request: HttpRequest, member, credential: Credential | None) -> HttpResponse:
    form = CredentialForm(request.POST or None, request.FILES or None, instance=credential)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                saved = credential_save(actor=request.user, member=member, credential=credential,
                                        data=form.service_data(), file=form.cleaned_data.get("document"))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Saved {saved.label} of {member.full_name}.")
                return redirect(detail_url(member, "credentials"))
    else:
        audit_read(request, member, what="a credential form")
    return render(request, "staff/credential_form.html", {"form": form, "member": member, "credential": credential},
                  status=status)


@require_http_methods(["GET", "POST"])
@requires(Perm.CREDENTIALS_MANAGE)
def credential_create(request: HttpRequest, staff_id: int) -> HttpResponse:
    return _credential_form(request, selectors.staff_get(user=request.user, staff_id=staff_id), None)


@require_http_methods(["GET", "POST"])
@requires(Perm.CREDENTIALS_MANAGE)
def credential_edit(request: HttpRequest, credential_id: int) -> HttpResponse:
    credential = _credential(request, credential_id)
    return _credential_form(request, credential.staff, credential)


@require_POST
@requires(Perm.CREDENTIALS_MANAGE)
def credential_verify_view(request: HttpRequest, credential_id: int) -> HttpResponse:
    credential = _credential(request, credential_id)
    form = VerifyForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    credential_verify(actor=request.user, credential=credential, note=note)
    messages.success(request, f"Verified {credential.label} of {credential.staff.full_name}.")
    return redirect(detail_url(credential.staff, "credentials"))


@require_POST
@requires(Perm.CREDENTIALS_MANAGE)
def credential_delete_view(request: HttpRequest, credential_id: int) -> HttpResponse:
    credential = _credential(request, credential_id)
    member = credential.staff
    credential_delete(actor=request.user, credential=credential)
    messages.success(request, f"Removed {credential.label} of {member.full_name}.")
    return redirect(detail_url(member, "credentials"))


@require_GET
@requires(Perm.CREDENTIALS_MANAGE)
def compliance(request: HttpRequest) -> HttpResponse:
    """Expired and expiring required credentials by department, with the alerts already sent; CSV too."""
    form = ComplianceFilterForm(request.GET or None, organization_id=request.user.organization_id)
    data = form.cleaned_data if form.is_valid() else {}
    department = data.get("department")
    groups, counts = selectors.credential_compliance(
        user=request.user, today=today(), department_id=department.pk if department else None,
        within_days=data.get("within") or 90,
    )
    if request.GET.get("format") == "csv":
        return csv_response("credential-compliance.csv", [
            "department", "last_name", "first_name", "credential", "number", "expires_on", "days_left", "state",
            "alerts_sent"], (
            [name, row.credential.staff.last_name, row.credential.staff.first_name, row.credential.label,
             row.credential.number, row.credential.expires_on, row.days_left, row.state,
             " ".join(str(a) for a in row.alerts)]
            for name, rows in groups for row in rows
        ))
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "staff/compliance.html", {
        "form": form, "groups": groups, "counts": counts, "query": query.urlencode(),
    })
