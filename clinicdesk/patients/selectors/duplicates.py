"""Likely duplicates of a person about to be registered: the same birth date and a similar name, or the same phone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from clinicdesk.core.models import Organization, User
from clinicdesk.core.permissions import Perm

from ..models import Patient
from ..search import given_names_match, names_similar, phone_digits
from .search import phone_condition

# A birth date is shared by a few dozen people in a million-patient practice; this bounds the worst case.
MAX_SAME_BIRTH_DATE = 500
MAX_RESULTS = 20
FULL_PHONE_DIGITS = 10


def patient_likely_duplicates(
    *,
    actor: User | None = None,
    organization: Organization | None = None,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    phones: Iterable[str] = (),
    phone: str = "",
    exclude_id: int | None = None,
) -> list[Patient]:
    """Existing patients who may be this person, most likely first; each carries `duplicate_reasons`.

    Scoped to `actor`'s practice (nothing without the patient-view permission), or to `organization`
    for system callers such as importers. Merged records are never offered.
    """
    if actor is not None:
        if not actor.has_perm_code(Perm.PATIENT_VIEW):
            return []
        organization_id = actor.organization_id
    elif organization is not None:
        organization_id = organization.pk
    else:
        return []
    base = Patient.objects.filter(organization_id=organization_id, merged_into__isnull=True)
    if exclude_id is not None:
        base = base.exclude(pk=exclude_id)

    found: dict[int, Patient] = {}
    if date_of_birth:
        for patient in base.filter(date_of_birth=date_of_birth).order_by("id")[:MAX_SAME_BIRTH_DATE]:
            reason = _name_reason(patient, first_name=first_name, last_name=last_name)
            if reason:
                patient.duplicate_reasons = [reason]
                found[patient.pk] = patient
    numbers = {d for d in (phone_digits(p) for p in (*phones, phone)) if len(d) >= FULL_PHONE_DIGITS}
    if numbers:
        condition = None
        for number in sorted(numbers):
            condition = phone_condition(number) if condition is None else condition | phone_condition(number)
        for patient in base.filter(condition).order_by("last_name", "first_name", "id")[:MAX_RESULTS]:
            if patient.pk in found:
                found[patient.pk].duplicate_reasons.append("same phone number")
            else:
                patient.duplicate_reasons = ["same phone number"]
                found[patient.pk] = patient
    ranked = sorted(found.values(), key=lambda p: (-len(p.duplicate_reasons), p.date_of_birth != date_of_birth, p.last_name, p.first_name))
    return ranked[:MAX_RESULTS]


def _name_reason(patient: Patient, *, first_name: str, last_name: str) -> str:
    given = [patient.first_name, patient.preferred_name]
    if names_similar(last_name, patient.last_name) and any(given_names_match(first_name, g) for g in given if g):
        return "same birth date, similar name"
    if names_similar(first_name, patient.last_name) and names_similar(last_name, patient.first_name):
        return "same birth date, first and last names swapped"
    return ""
