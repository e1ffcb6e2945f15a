"""Writes to the patient record: demographics, emergency contacts, consents, alerts and guarantor.

Every service checks the row with `full_clean()`, runs in one transaction, and tells django-auditlog
who is acting so the automatic change rows (core.receivers -> audit_event) carry the actor even
when the caller is a token-authenticated API request, a command or a task.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import phonenumbers
from auditlog.context import auditlog_value, set_actor
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.choices import Role
from clinicdesk.core.models import Organization, User
from clinicdesk.core.validation import full_clean_or_raise

from ..choices import ConsentStatus, Relationship
from ..models import CommunicationConsent, EmergencyContact, Guarantor, Patient, PatientAlert

DEFAULT_PHONE_REGION = "US"
MRN_DIGITS = 7

# The patient fields a person may set; everything else (organization, public id, search columns,
# merge pointer) is the system's.
PATIENT_FIELDS = (
    "mrn", "first_name", "middle_name", "last_name", "suffix", "preferred_name", "date_of_birth", "sex",
    "gender_identity", "pronouns", "address_line1", "address_line2", "city", "state", "postal_code", "country",
    "phone_mobile", "phone_home", "phone_work", "email", "preferred_language", "preferred_channel",
    "primary_provider", "status", "deceased_date",
)  # fmt: skip
PATIENT_PHONE_FIELDS = ("phone_mobile", "phone_home", "phone_work")
CONTACT_FIELDS = ("name", "relationship", "phone", "email")
GUARANTOR_FIELDS = ("name", "address_line1", "city", "state", "postal_code", "phone", "email")


# --- shared pieces --------------------------------------------------------------------------------


@contextmanager
def acting_as(actor: User | None) -> Iterator[None]:
    """Make django-auditlog record `actor` on the changes made inside the block.

    The request middleware already does this for signed-in pages; API tokens authenticate after the
    middleware ran, and commands have no request. Whatever context surrounded the block is put back
    afterwards, so a view that goes on saving after the service keeps its own actor.
    """
    if actor is None:
        yield
        return
    # set_actor replaces the context variable and disconnects its receiver on exit; the token lets
    # us restore the outer value (and with it the outer receiver's matching id).
    token = auditlog_value.set({})
    try:
        with set_actor(actor):
            yield
    finally:
        auditlog_value.reset(token)


def normalize_phone(value: str, *, field: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """A phone number in E.164 ('+12025550143'), or a ValidationError naming `field`."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region or DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError({field: f"'{value}' is not a valid phone number; include the area code, e.g. (202) 555-0143."})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _merge_errors(errors: dict[str, list[str]], exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        errors.setdefault(field, []).extend(m for m in messages if m not in errors.get(field, []))


def _unknown_fields(values: dict[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationError({name: f"'{name}' is not a field that can be set here." for name in unknown})


def _ensure_same_org(patient: Patient, actor: User) -> None:
    if actor is not None and patient.organization_id != actor.organization_id:
        # Never reveal another practice's records: the same message as a missing patient.
        raise ValidationError({"patient": "No such patient."})


def _ensure_current(patient: Patient) -> None:
    if patient.merged_into_id:
        raise ValidationError({NON_FIELD_ERRORS: "This record was merged into another; change the surviving record."})


# --- patients -------------------------------------------------------------------------------------


def _apply_patient_fields(patient: Patient, values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    region = (values.get("country") or patient.country or DEFAULT_PHONE_REGION).upper()
    for name, value in values.items():
        value = _clean_text(value)
        if name in PATIENT_PHONE_FIELDS:
            try:
                value = normalize_phone(value, field=name, region=region)
            except ValidationError as exc:
                _merge_errors(errors, exc)
                continue
        elif name == "email" and isinstance(value, str):
            value = value.lower()
        elif name in ("country",) and isinstance(value, str):
            value = value.upper()
        elif value is None and name not in ("date_of_birth", "deceased_date", "primary_provider"):
            value = ""
        setattr(patient, name, value)
    provider = patient.primary_provider
    if (
        "primary_provider" in values
        and provider is not None
        and (provider.organization_id != patient.organization_id or provider.role != Role.CLINICIAN)
    ):
        errors.setdefault("primary_provider", []).append("Choose a clinician of this practice.")


def _check_mrn_free(patient: Patient, errors: dict[str, list[str]]) -> None:
    if not patient.mrn:
        return
    taken = Patient.objects.filter(organization_id=patient.organization_id, mrn=patient.mrn).exclude(pk=patient.pk)
    if taken.exists():
        errors.setdefault("mrn", []).append(f"MRN {patient.mrn} is already used in this practice.")


def next_mrn(organization: Organization) -> str:
    """The next automatic MRN: the practice's prefix and a zero-padded sequence number.

    Callers hold the organization row lock (see patient_create), so two front desks creating patients
    at the same moment cannot be handed the same number. Hand-typed MRNs that happen to match the
    pattern are counted too, so the sequence steps over them.
    """
    prefix = organization.mrn_prefix or ""
    pattern = rf"^{re.escape(prefix)}[0-9]{{{MRN_DIGITS}}}$"
    last = (
        Patient.objects.filter(organization=organization, mrn__regex=pattern)
        .order_by("-mrn")
        .values_list("mrn", flat=True)
        .first()
    )
    number = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{number:0{MRN_DIGITS}d}"


def _save_patient(patient: Patient, *, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            patient.save(update_fields=update_fields)
    except IntegrityError as exc:
        # Two people typed the same MRN at once: the database constraint is the last word.
        if "mrn" in str(exc).lower():
            raise ValidationError({"mrn": f"MRN {patient.mrn} is already used in this practice."}) from exc
        raise


@transaction.atomic
def patient_create(
    *,
    actor: User,
    first_name: str,
    last_name: str,
    date_of_birth: date | None,
    sex: str,
    mrn: str = "",
    acknowledged_duplicates: Sequence[Patient] = (),
    **details: Any,
) -> Patient:
    """Register a new patient in the actor's practice; the MRN is assigned when left blank.

    `acknowledged_duplicates` are the likely duplicates the user was shown and chose to create past;
    that choice is audited so a later merge review can see it.
    """
    _unknown_fields(details, PATIENT_FIELDS)
    organization = Organization.objects.select_for_update().get(pk=actor.organization_id)
    patient = Patient(organization=organization)
    values = {"first_name": first_name, "last_name": last_name, "date_of_birth": date_of_birth, "sex": sex, "mrn": mrn}
    values.update(details)
    errors: dict[str, list[str]] = {}
    with acting_as(actor):
        _apply_patient_fields(patient, values, errors)
        if patient.mrn:
            _check_mrn_free(patient, errors)
        else:
            patient.mrn = next_mrn(organization)
        full_clean_or_raise(patient, errors, exclude=["mrn"] if "mrn" in errors else ())
        _save_patient(patient)
        if acknowledged_duplicates:
            audit_event(
                action="patient.duplicate_override",
                actor=actor,
                target=patient,
                summary="Created despite likely duplicates: " + ", ".join(p.mrn for p in acknowledged_duplicates)[:250],
                changes={"duplicates": [p.public_id for p in acknowledged_duplicates]},
            )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, actor: User, **changes: Any) -> Patient:
    """Change a patient's details. Only the named fields are written; nothing is written on any error."""
    _ensure_same_org(patient, actor)
    _ensure_current(patient)
    _unknown_fields(changes, PATIENT_FIELDS)
    if not changes:
        return patient
    errors: dict[str, list[str]] = {}
    with acting_as(actor):
        _apply_patient_fields(patient, changes, errors)
        if "mrn" in changes:
            if not patient.mrn:
                errors.setdefault("mrn", []).append("A patient must keep an MRN.")
            else:
                _check_mrn_free(patient, errors)
        try:
            full_clean_or_raise(patient, errors, exclude=["mrn"] if "mrn" in errors else ())
        except ValidationError:
            patient.refresh_from_db()
            raise
        _save_patient(patient, update_fields=[*changes, "updated_at"])
    return patient


# --- emergency contacts ---------------------------------------------------------------------------


def _apply_contact(contact: EmergencyContact, values: dict[str, Any], region: str, errors: dict[str, list[str]]) -> None:
    for name, value in values.items():
        value = _clean_text(value) if value is not None else ""
        if name == "phone":
            try:
                value = normalize_phone(value, field="phone", region=region)
            except ValidationError as exc:
                _merge_errors(errors, exc)
                continue
        elif name == "email":
            value = value.lower()
        setattr(contact, name, value)


@transaction.atomic
def emergency_contact_add(
    *, patient: Patient, actor: User, name: str, phone: str, relationship: str = Relationship.OTHER, email: str = ""
) -> EmergencyContact:
    """Add someone to call in an emergency."""
    _ensure_same_org(patient, actor)
    _ensure_current(patient)
    contact = EmergencyContact(patient=patient)
    errors: dict[str, list[str]] = {}
    _apply_contact(contact, {"name": name, "relationship": relationship, "phone": phone, "email": email}, patient.country, errors)
    full_clean_or_raise(contact, errors)
    with acting_as(actor):
        contact.save()
    return contact


@transaction.atomic
def emergency_contact_update(*, contact: EmergencyContact, actor: User, **changes: Any) -> EmergencyContact:
    """Correct an emergency contact's details."""
    _ensure_same_org(contact.patient, actor)
    _ensure_current(contact.patient)
    _unknown_fields(changes, CONTACT_FIELDS)
    if not changes:
        return contact
    errors: dict[str, list[str]] = {}
    _apply_contact(contact, changes, contact.patient.country, errors)
    try:
        full_clean_or_raise(contact, errors)
    except ValidationError:
        contact.refresh_from_db()
        raise
    with acting_as(actor):
        contact.save(update_fields=[*changes, "updated_at"])
    return contact


@transaction.atomic
def emergency_contact_remove(*, contact: EmergencyContact, actor: User) -> None:
    """Take a contact off the record (the audit trail keeps what it said)."""
    _ensure_same_org(contact.patient, actor)
    _ensure_current(contact.patient)
    with acting_as(actor):
        contact.delete()


# --- communication consent ------------------------------------------------------------------------


@transaction.atomic
def consent_set(*, patient: Patient, actor: User, channel: str, status: str, source: str = "") -> CommunicationConsent:
    """Record the patient's yes or no for a channel, stamping when they opted in or out.

    Reminders and campaigns read this before they send, so an opt-out takes effect at once.
    """
    _ensure_same_org(patient, actor)
    _ensure_current(patient)
    consent = CommunicationConsent.objects.select_for_update().filter(patient=patient, channel=channel).first()
    previous = consent.status if consent else None
    if consent is None:
        consent = CommunicationConsent(patient=patient, channel=channel)
    consent.status = status
    consent.source = (source or "").strip()
    now = timezone.now()
    if status != previous:
        if status == ConsentStatus.OPTED_IN:
            consent.opted_in_at = now
        elif status == ConsentStatus.OPTED_OUT:
            consent.opted_out_at = now
    full_clean_or_raise(consent, exclude=["patient"])
    with acting_as(actor):
        consent.save()
    if status != previous:
        audit_event(
            action=f"consent.{status}",
            actor=actor,
            target=consent,
            summary=f"{consent.get_channel_display()}: {consent.get_status_display()}"
            + (f" (source: {consent.source})" if consent.source else ""),
        )
    return consent


# --- alerts ---------------------------------------------------------------------------------------


@transaction.atomic
def alert_add(*, patient: Patient, actor: User, kind: str, note: str = "") -> PatientAlert:
    """Put a banner on the record that everyone opening it will see."""
    _ensure_same_org(patient, actor)
    _ensure_current(patient)
    alert = PatientAlert(patient=patient, kind=kind, note=(note or "").strip(), created_by=actor)
    full_clean_or_raise(alert)
    with acting_as(actor):
        alert.save()
    return alert


@transaction.atomic
def alert_deactivate(*, alert: PatientAlert, actor: User) -> PatientAlert:
    """Take a banner down; the row stays for the history."""
    _ensure_same_org(alert.patient, actor)
    if alert.is_active:
        alert.is_active = False
        with acting_as(actor):
            alert.save(update_fields=["is_active", "updated_at"])
    return alert


# --- guarantor ------------------------------------------------------------------------------------


@transaction.atomic
def guarantor_set(
    *,
    patient: Patient,
    actor: User,
    relationship: str,
    guarantor_patient: Patient | None = None,
    **details: Any,
) -> Guarantor:
    """Say who pays the patient's bills: the patient (relationship 'self'), another patient of the
    practice, or a person outside it (name and address)."""
    _ensure_same_org(patient, actor)
    _ensure_current(patient)
    _unknown_fields(details, GUARANTOR_FIELDS)
    errors: dict[str, list[str]] = {}
    if guarantor_patient is not None:
        if guarantor_patient.organization_id != patient.organization_id or guarantor_patient.merged_into_id:
            errors["guarantor_patient"] = ["No such patient in this practice."]
        if relationship == Relationship.SELF:
            errors.setdefault("relationship", []).append("Pick how the guarantor is related; 'Self' is the patient alone.")
    guarantor = Guarantor.objects.select_for_update().filter(patient=patient).first() or Guarantor(patient=patient)
    guarantor.relationship = relationship
    guarantor.guarantor_patient = None if errors.get("guarantor_patient") else guarantor_patient
    values: dict[str, Any] = dict.fromkeys(GUARANTOR_FIELDS, "")
    if relationship != Relationship.SELF and guarantor_patient is None:
        values.update({k: v for k, v in details.items() if v is not None})
    for name, value in values.items():
        value = _clean_text(value)
        if name == "phone":
            try:
                value = normalize_phone(value, field="phone", region=patient.country)
            except ValidationError as exc:
                _merge_errors(errors, exc)
                continue
        elif name == "email":
            value = value.lower()
        setattr(guarantor, name, value)
    full_clean_or_raise(guarantor, errors, exclude=["patient"])
    with acting_as(actor):
        guarantor.save()
    return guarantor
