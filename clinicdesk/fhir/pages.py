"""The practice administrator's page for FHIR client tokens: issue one (its secret is shown once), see them
all with their use, revoke one; and the patient page's download of a patient's record (right of access)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.permissions import Perm
from clinicdesk.patients.selectors.records import patient_scope

from . import services
from .forms import FhirTokenForm
from .models import FhirToken
from .patient_record import RECORD_PERMISSIONS, patient_record_zip


@requires(Perm.PRACTICE_MANAGE)
def token_list(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = FhirTokenForm(request.POST or None, organization_id=actor.organization_id)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _, secret = services.fhir_token_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            form = FhirTokenForm(organization_id=actor.organization_id)
    tokens = FhirToken.objects.filter(organization_id=actor.organization_id).select_related("user", "created_by")
    return render(request, "fhir/tokens.html", {"form": form, "tokens": tokens, "secret": secret})


@require_POST
@requires(Perm.PRACTICE_MANAGE)
def token_revoke(request: HttpRequest, fhir_token_id: int) -> HttpResponse:
    token = get_object_or_404(FhirToken, pk=fhir_token_id, organization_id=request.user.organization_id)
    services.fhir_token_revoke(actor=request.user, token=token)
    messages.success(request, f"FHIR token '{token.name}' revoked.")
    return redirect("fhir_tokens:list")


@require_POST
@requires(*RECORD_PERMISSIONS)
def patient_record_download(request: HttpRequest, public_id: str) -> HttpResponse:
    """The patient's record as a zip (FHIR JSON, documents, README), for a right-of-access request; audited."""
    patient = patient_scope(actor=request.user).filter(public_id=public_id).first()
    if patient is None:
        raise Http404("No such patient.")
    try:
        record = patient_record_zip(actor=request.user, patient=patient)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("patients:detail", kwargs={"public_id": patient.public_id}))
    response = FileResponse(record.file, as_attachment=True, filename=record.filename, content_type="application/zip")
    response["Cache-Control"] = "private, no-store"
    return response
