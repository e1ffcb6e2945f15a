"""The "find the patient first" step that starts every form about one patient (a waitlist entry, a
letter, a staff task): one search box, the active matches as links back to the same page with
`?patient=<public id>`, and the hint to try another identifier when nothing matches."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinicdesk.core.permissions import Perm

from .forms import PatientPickForm
from .selectors.search import patient_search


@dataclass(frozen=True)
class PickPage:
    title: str  # the page's heading, e.g. "Add a patient to the waitlist"
    action: str  # this page's URL; a picked patient comes back to it as ?patient=<public id>
    back_url: str
    back_label: str  # e.g. "Waitlist"
    skip_url: str = ""  # a way on without a patient, when the form allows one
    skip_label: str = ""


def patient_pick_step(request: HttpRequest, page: PickPage) -> HttpResponse:
    """Render the search step; actors who may not see patients get the form and no matches."""
    form = PatientPickForm(request.GET or None)
    found = []
    if form.is_valid() and form.cleaned_data.get("q") and request.user.has_perm_code(Perm.PATIENT_VIEW):
        found = patient_search(actor=request.user, query=form.cleaned_data["q"], limit=20, include_inactive=False)
    return render(request, "patients/pick.html", {"form": form, "found": found, "page": page,
                                                  "searched": bool(request.GET.get("q"))})
