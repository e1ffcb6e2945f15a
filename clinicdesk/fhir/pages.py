"""The practice administrator's page for FHIR client tokens: issue one (its secret is shown once), see them
all with their use, revoke one."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clinicdesk.core.access import requires
from clinicdesk.core.permissions import Perm

from . import services
from .forms import FhirTokenForm
from .models import FhirToken


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
