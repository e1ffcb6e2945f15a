"""Reads of patient records and documents, scoped to the actor's practice. Reads of PHI are audited here."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import User
from clinicdesk.core.permissions import Perm

from ..choices import PatientStatus
from ..models import CommunicationConsent, Document, EmergencyContact, Patient, PatientAlert

# Sort keys people (and API clients) may ask for; anything else is refused by name, never passed to order_by.
PATIENT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("last_name", "first_name", "date_of_birth", "id"),
    "-name": ("-last_name", "-first_name", "date_of_birth", "-id"),
    "dob": ("date_of_birth", "last_name", "id"),
    "-dob": ("-date_of_birth", "last_name", "-id"),
    "mrn": ("mrn",),
    "-mrn": ("-mrn",),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}
DEFAULT_PATIENT_SORT = "-updated"


def patient_scope(*, actor: User) -> QuerySet[Patient]:
    """Every patient the actor may see: their own practice's, not merged away."""
    if actor is None or not actor.has_perm_code(Perm.PATIENT_VIEW):
        return Patient.objects.none()
    return Patient.objects.filter(organization_id=actor.organization_id, merged_into__isnull=True)


def _find(*, actor: User, public_id: str) -> Patient:
    patient = (
        patient_scope(actor=actor)
        .select_related("primary_provider", "guarantor", "guarantor__guarantor_patient")
        .filter(public_id=public_id)
        .first()
    )
    if patient is None:
        # The same answer for "no such patient", "another practice's" and "merged": existence is not revealed.
        raise Http404("No such patient.")
    return patient


def patient_get(
    *, actor: User, public_id: str, action: str = "patient.viewed", summary: str = "", channel: str | None = None
) -> Patient:
    """One patient, for showing: writes the read to the audit trail (page, API, print or export)."""
    patient = _find(actor=actor, public_id=public_id)
    audit_event(action=action, actor=actor, target=patient, summary=summary or "Patient record opened", channel=channel)
    return patient


def patient_for_change(*, actor: User, public_id: str) -> Patient:
    """One patient about to be changed by a service; the change itself is what gets audited."""
    return _find(actor=actor, public_id=public_id)


def patient_list(*, actor: User, status: str = "", sort: str = "") -> QuerySet[Patient]:
    """The practice's patients, filtered by status and sorted by a known key (most recently changed first)."""
    errors = {}
    sort = sort or DEFAULT_PATIENT_SORT
    if sort not in PATIENT_SORTS:
        errors["sort"] = f"Unknown sort field '{sort}'; use one of: {', '.join(PATIENT_SORTS)}."
    if status and status not in PatientStatus.values:
        errors["status"] = f"Unknown status '{status}'; use one of: {', '.join(PatientStatus.values)}."
    if errors:
        raise ValidationError(errors)
    qs = patient_scope(actor=actor)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by(*PATIENT_SORTS[sort])


@dataclass
class PatientChart:
    """What the patient page's summary shows, loaded in a fixed number of queries."""

    patient: Patient
    contacts: list[EmergencyContact]
    alerts: list[PatientAlert]
    consents: list[CommunicationConsent]
    document_count: int


def patient_chart(*, patient: Patient) -> PatientChart:
    """Contacts, active alerts, consents and the document count of an already-fetched patient."""
    return PatientChart(
        patient=patient,
        contacts=list(EmergencyContact.objects.filter(patient=patient).order_by("id")),
        alerts=patient_active_alerts(patient=patient),
        consents=list(CommunicationConsent.objects.filter(patient=patient).order_by("channel")),
        document_count=Document.objects.filter(patient=patient).count(),
    )


def patient_active_alerts(*, patient: Patient) -> list[PatientAlert]:
    return list(PatientAlert.objects.filter(patient=patient, is_active=True).order_by("-created_at"))


def document_list(*, actor: User, patient: Patient, category: str = "") -> QuerySet[Document]:
    """The documents in a patient's chart, newest first (the list shows titles, not contents)."""
    if not actor.has_perm_code(Perm.DOCUMENT_VIEW) or patient.organization_id != actor.organization_id:
        return Document.objects.none()
    qs = Document.objects.filter(patient=patient, organization_id=actor.organization_id).select_related("uploaded_by")
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("-created_at", "-id")


def document_get(*, actor: User, public_id: str, action: str = "document.viewed") -> Document:
    """One document for opening its file: scoped to the practice, and the opening is audited."""
    if not actor.has_perm_code(Perm.DOCUMENT_VIEW):
        raise Http404("No such document.")
    document = (
        Document.objects.select_related("patient")
        .filter(organization_id=actor.organization_id, patient__organization_id=actor.organization_id, public_id=public_id)
        .first()
    )
    if document is None:
        raise Http404("No such document.")
    audit_event(action=action, actor=actor, target=document, summary=f"Opened '{document.title}'"[:300])
    return document


def emergency_contact_get(*, actor: User, patient: Patient, contact_id: int) -> EmergencyContact:
    contact = EmergencyContact.objects.select_related("patient").filter(patient=patient, pk=contact_id).first()
    if contact is None or patient.organization_id != actor.organization_id:
        raise Http404("No such contact.")
    return contact


def patient_alert_get(*, actor: User, patient: Patient, alert_id: int) -> PatientAlert:
    alert = PatientAlert.objects.select_related("patient").filter(patient=patient, pk=alert_id).first()
    if alert is None or patient.organization_id != actor.organization_id:
        raise Http404("No such alert.")
    return alert
