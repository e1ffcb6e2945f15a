from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinicdesk.core.access import requires
from clinicdesk.core.permissions import Perm


@requires(Perm.PATIENT_VIEW)
def patient_list(request: HttpRequest) -> HttpResponse:
    return render(request, "patients/patient_list.html", {"patients": []})


@requires(Perm.PATIENT_VIEW)
def patient_suggest(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
