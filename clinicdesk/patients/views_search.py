"""The search box's suggestions, and the page that merges a duplicate record into the one kept."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from clinicdesk.core.access import requires
from clinicdesk.core.permissions import Perm

from . import services
from .models import PUBLIC_ID_ALPHABET
from .search import MAX_QUERY_LENGTH
from .selectors import patient_likely_duplicates, patient_search
from .selectors.merge import merge_comparison
from .selectors.records import patient_for_change, patient_get

SUGGEST_LIMIT = 10
SUGGEST_MIN_CHARS = 2
MERGE_CANDIDATES = 20


@require_GET
@requires(Perm.PATIENT_VIEW)
def patient_suggest(request: HttpRequest) -> HttpResponse:
    """The type-ahead under the search box on every page.

    No audit row is written per keystroke: suggestions show directory data only (name, birth date,
    MRN, the last digits of a phone), much as a printed appointment list would, and a row per letter
    typed would bury the reads that matter. Opening a record from the list is audited by the patient page.
    """
    query = request.GET.get("q", "")[:MAX_QUERY_LENGTH]
    if len(query.strip()) < SUGGEST_MIN_CHARS:
        return HttpResponse("")
    patients = patient_search(actor=request.user, query=query, limit=SUGGEST_LIMIT)
    return render(request, "patients/_suggestions.html", {"patients": patients, "query": query})


class PatientMergeForm(forms.Form):
    """Confirming a merge: the record kept (by its public id) and an explicit tick."""

    into = forms.RegexField(regex=f"^[{PUBLIC_ID_ALPHABET}]{{14}}$", widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="I have checked that these two records are the same person",
        error_messages={"required": "Tick the box to confirm these records are the same person."},
    )


@require_http_methods(["GET", "POST"])
@requires(Perm.PATIENT_VIEW, Perm.PATIENT_MERGE)
def patient_merge(request: HttpRequest, public_id: str) -> HttpResponse:
    """Merge this (duplicate) record into another: pick the record kept, compare them, confirm."""
    merge = patient_for_change(actor=request.user, public_id=public_id)
    if request.method == "POST":
        return _merge_confirm(request, merge)
    into = request.GET.get("into", "")
    if into:
        form = PatientMergeForm(initial={"into": into})
        return _comparison_page(request, merge=merge, into=into, form=form)
    return _pick_page(request, merge)


def _pick_page(request: HttpRequest, merge) -> HttpResponse:
    query = request.GET.get("q", "")[:MAX_QUERY_LENGTH]
    likely = patient_likely_duplicates(
        actor=request.user,
        first_name=merge.first_name,
        last_name=merge.last_name,
        date_of_birth=merge.date_of_birth,
        phones=[merge.phone_mobile, merge.phone_home, merge.phone_work],
        exclude_id=merge.pk,
    )
    found = []
    if query.strip():
        found = [p for p in patient_search(actor=request.user, query=query, limit=MERGE_CANDIDATES + 1) if p.pk != merge.pk]
    return render(
        request,
        "patients/merge_pick.html",
        {"patient": merge, "likely": likely, "found": found[:MERGE_CANDIDATES], "query": query},
    )


def _comparison_page(request: HttpRequest, *, merge, into: str, form: PatientMergeForm, status: int = 200) -> HttpResponse:
    try:
        # Both records are shown in full here, so both reads are audited like opening the patient page.
        keep = patient_get(actor=request.user, public_id=into, summary="Compared for a merge")
        merge = patient_get(actor=request.user, public_id=merge.public_id, summary="Compared for a merge")
    except Http404:
        messages.error(request, "That record cannot be found; choose the record to keep again.")
        return redirect("patients:merge", public_id=merge.public_id)
    if keep.pk == merge.pk:
        messages.error(request, "Choose a different record: a record cannot be merged into itself.")
        return redirect("patients:merge", public_id=merge.public_id)
    comparison = merge_comparison(actor=request.user, keep=keep, merge=merge)
    return render(request, "patients/merge_confirm.html", {"comparison": comparison, "form": form, "patient": merge}, status=status)


def _merge_confirm(request: HttpRequest, merge) -> HttpResponse:
    form = PatientMergeForm(request.POST)
    if not form.is_valid():
        if "into" in form.errors:
            messages.error(request, "Choose the record to keep.")
            return redirect("patients:merge", public_id=merge.public_id)
        return _comparison_page(request, merge=merge, into=form.data.get("into", ""), form=form, status=400)
    into = form.cleaned_data["into"]
    try:
        keep = patient_for_change(actor=request.user, public_id=into)
        services.patient_merge(keep=keep, merge=merge, actor=request.user)
    except Http404:
        messages.error(request, "That record cannot be found; choose the record to keep again.")
        return redirect("patients:merge", public_id=merge.public_id)
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _comparison_page(request, merge=merge, into=into, form=form, status=400)
    messages.success(request, f"{merge.display_name} ({merge.mrn}) was merged into this record.")
    return redirect("patients:detail", public_id=keep.public_id)
