from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent, ChangeRecord
from clinicdesk.patients import services
from clinicdesk.patients.choices import AlertKind, Channel, ConsentStatus, PatientStatus, Relationship
from clinicdesk.patients.models import CommunicationConsent, EmergencyContact, Guarantor, Patient
from clinicdesk.patients.services.records import next_mrn, normalize_phone
from clinicdesk.patients.tests.factories import EmergencyContactFactory, PatientAlertFactory, PatientFactory

pytestmark = pytest.mark.django_db


def new_patient(actor, **overrides):
    values = {"first_name": "Ana", "last_name": "Lopez", "date_of_birth": date(1980, 5, 17), "sex": "female"}
    values.update(overrides)
    return services.patient_create(actor=actor, **values)


def field_errors(exc_info) -> dict:
    return exc_info.value.message_dict


# --- patient_create -------------------------------------------------------------------------------


def test_create_assigns_the_next_mrn_with_the_practice_prefix(front_desk, org):
    # given
    org.mrn_prefix = "RV"
    org.save(update_fields=["mrn_prefix"])
    front_desk.refresh_from_db()
    # when
    first = new_patient(front_desk)
    second = new_patient(front_desk, first_name="Ben")
    # then
    assert first.mrn == "RV0000001"
    assert second.mrn == "RV0000002"
    assert first.organization_id == org.pk


def test_automatic_mrn_steps_over_numbers_typed_by_hand(front_desk, org):
    new_patient(front_desk, mrn=f"{org.mrn_prefix}0000041")
    assert next_mrn(org) == f"{org.mrn_prefix}0000042"


def test_mrns_are_numbered_per_practice(front_desk, make_user, other_org):
    elsewhere = make_user(Role.FRONT_DESK, organization=other_org)
    assert new_patient(front_desk).mrn.endswith("0000001")
    assert new_patient(elsewhere).mrn.endswith("0000001")


def test_create_normalises_phones_to_e164_and_fills_search_columns(front_desk):
    patient = new_patient(front_desk, phone_mobile="(202) 555-0143", email="  Ana.Lopez@Example.COM ")
    assert patient.phone_mobile == "+12025550143"
    assert patient.email == "ana.lopez@example.com"
    assert set(patient.search_name.split()) >= {"ana", "lopez"}
    assert "2025550143" in patient.search_phones


def test_create_is_audited_with_the_actor(front_desk):
    patient = new_patient(front_desk)
    event = AuditEvent.objects.get(action="patient.created", patient_id=patient.pk)
    assert event.actor_id == front_desk.pk
    # What django-auditlog saw is kept once, in the chained event, not in a second table.
    assert event.changes["last_name"] == ["None", patient.last_name]
    assert not ChangeRecord.objects.exists()


def test_a_service_can_give_the_chain_row_of_a_change_its_own_action(front_desk):
    from clinicdesk.core.audit import audit_recorded_as
    from clinicdesk.patients.services.records import acting_as

    patient = new_patient(front_desk)
    # when a change is saved inside audit_recorded_as
    with acting_as(front_desk), audit_recorded_as(patient, action="patient.renamed", actor=front_desk, summary="Renamed"):
        patient.first_name = "Zed"
        patient.save(update_fields=["first_name"])
    # then one chain row carries the act, the actor and the field change
    rows = AuditEvent.objects.filter(patient_id=patient.pk, action__in=["patient.renamed", "patient.updated"])
    assert [(r.action, r.summary, r.actor_id, r.changes["first_name"][1]) for r in rows] == [
        ("patient.renamed", "Renamed", front_desk.pk, "Zed")]
    # and when nothing was recorded for the target, the act is still written on leaving the block
    with audit_recorded_as(patient, action="patient.reviewed", actor=front_desk, summary="Reviewed"):
        pass
    assert AuditEvent.objects.filter(action="patient.reviewed", patient_id=patient.pk).count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone_mobile", "555-01", "not a valid phone number"),
        ("phone_home", "call me maybe", "not a valid phone number"),
        ("phone_work", "+1 000 000 0000", "not a valid phone number"),
        ("email", "ana@", "valid email"),
        ("date_of_birth", timezone.localdate() + timedelta(days=1), "cannot be in the future"),
        ("sex", "robot", "not a valid choice"),
        ("first_name", "", "cannot be blank"),
    ],
)
def test_create_refuses_bad_input_with_a_field_error_and_saves_nothing(front_desk, field, value, message):
    with pytest.raises(ValidationError) as exc:
        new_patient(front_desk, **{field: value})
    assert message in " ".join(field_errors(exc)[field])
    assert not Patient.objects.exists()


def test_create_reports_every_bad_field_at_once(front_desk):
    with pytest.raises(ValidationError) as exc:
        new_patient(front_desk, phone_mobile="12", email="nope", date_of_birth=date(2999, 1, 1))
    assert {"phone_mobile", "email", "date_of_birth"} <= set(field_errors(exc))


def test_create_refuses_a_duplicate_mrn_in_the_same_practice(front_desk):
    new_patient(front_desk, mrn="A100")
    with pytest.raises(ValidationError) as exc:
        new_patient(front_desk, mrn="A100", first_name="Other")
    assert field_errors(exc)["mrn"] == ["MRN A100 is already used in this practice."]
    assert Patient.objects.count() == 1


def test_the_same_mrn_may_exist_in_another_practice(front_desk, make_user, other_org):
    elsewhere = make_user(Role.FRONT_DESK, organization=other_org)
    new_patient(front_desk, mrn="A100")
    assert new_patient(elsewhere, mrn="A100").mrn == "A100"


def test_create_refuses_unknown_fields(front_desk):
    with pytest.raises(ValidationError) as exc:
        new_patient(front_desk, organization_id=99)
    assert "organization_id" in field_errors(exc)


def test_primary_provider_must_be_a_clinician_of_the_practice(front_desk, make_user, other_org):
    outsider = make_user(Role.CLINICIAN, organization=other_org)
    with pytest.raises(ValidationError) as exc:
        new_patient(front_desk, primary_provider=outsider)
    assert "primary_provider" in field_errors(exc)
    clinician = make_user(Role.CLINICIAN)
    assert new_patient(front_desk, primary_provider=clinician).primary_provider == clinician


def test_creating_past_acknowledged_duplicates_is_audited(front_desk):
    # given
    existing = PatientFactory(organization=front_desk.organization, first_name="Ana", last_name="Lopez")
    # when
    patient = new_patient(front_desk, acknowledged_duplicates=[existing])
    # then
    event = AuditEvent.objects.get(action="patient.duplicate_override")
    assert event.patient_id == patient.pk
    assert existing.mrn in event.summary


# --- patient_update -------------------------------------------------------------------------------


def test_update_changes_only_the_named_fields(front_desk):
    patient = PatientFactory(organization=front_desk.organization, last_name="Lopez")
    updated = services.patient_update(patient=patient, actor=front_desk, last_name="López-Ruiz", phone_home="202 555 0199")
    updated.refresh_from_db()
    assert updated.last_name == "López-Ruiz"
    assert updated.phone_home == "+12025550199"
    assert "lopez ruiz" in updated.search_name
    event = AuditEvent.objects.filter(action="patient.updated", patient_id=patient.pk).get()
    assert event.actor_id == front_desk.pk
    assert "last_name" in event.changes


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone_mobile", "123"), ("email", "not-an-email"), ("date_of_birth", date(2999, 1, 1)), ("mrn", "")],
)
def test_update_refuses_bad_input_and_leaves_the_row_alone(front_desk, field, value):
    patient = PatientFactory(organization=front_desk.organization)
    before = Patient.objects.values().get(pk=patient.pk)
    with pytest.raises(ValidationError) as exc:
        services.patient_update(patient=patient, actor=front_desk, **{field: value})
    assert field in field_errors(exc)
    assert Patient.objects.values().get(pk=patient.pk) == before
    assert getattr(patient, field) == before[field]


def test_update_refuses_an_mrn_already_used(front_desk):
    PatientFactory(organization=front_desk.organization, mrn="X1")
    patient = PatientFactory(organization=front_desk.organization, mrn="X2")
    with pytest.raises(ValidationError) as exc:
        services.patient_update(patient=patient, actor=front_desk, mrn="X1")
    assert "already used" in field_errors(exc)["mrn"][0]


def test_update_of_deceased_needs_the_date(front_desk):
    patient = PatientFactory(organization=front_desk.organization)
    with pytest.raises(ValidationError) as exc:
        services.patient_update(patient=patient, actor=front_desk, status=PatientStatus.DECEASED)
    assert "deceased_date" in field_errors(exc)


def test_update_refuses_another_practices_patient(front_desk, other_org):
    stranger = PatientFactory(organization=other_org)
    with pytest.raises(ValidationError):
        services.patient_update(patient=stranger, actor=front_desk, last_name="X")


def test_merged_record_cannot_be_changed(front_desk):
    survivor = PatientFactory(organization=front_desk.organization)
    merged = PatientFactory(organization=front_desk.organization, merged_into=survivor)
    with pytest.raises(ValidationError):
        services.patient_update(patient=merged, actor=front_desk, last_name="X")


# --- contacts, consents, alerts, guarantor --------------------------------------------------------


def test_emergency_contact_add_update_remove(front_desk):
    # given
    patient = PatientFactory(organization=front_desk.organization)
    # when
    contact = services.emergency_contact_add(
        patient=patient, actor=front_desk, name="Luis Lopez", relationship=Relationship.SPOUSE, phone="2025550111"
    )
    services.emergency_contact_update(contact=contact, actor=front_desk, phone="(202) 555-0112")
    # then
    contact.refresh_from_db()
    assert contact.phone == "+12025550112"
    services.emergency_contact_remove(contact=contact, actor=front_desk)
    assert not EmergencyContact.objects.exists()
    actions = set(AuditEvent.objects.filter(patient_id=patient.pk).values_list("action", flat=True))
    assert {"emergencycontact.created", "emergencycontact.updated", "emergencycontact.deleted"} <= actions


def test_emergency_contact_with_a_bad_phone_is_refused(front_desk):
    patient = PatientFactory(organization=front_desk.organization)
    with pytest.raises(ValidationError) as exc:
        services.emergency_contact_add(patient=patient, actor=front_desk, name="Luis", phone="12", email="x@")
    assert {"phone", "email"} <= set(field_errors(exc))
    assert not EmergencyContact.objects.exists()


def test_emergency_contact_update_with_bad_phone_keeps_the_old_one(front_desk):
    contact = EmergencyContactFactory(patient__organization=front_desk.organization, phone="+12025550100")
    with pytest.raises(ValidationError):
        services.emergency_contact_update(contact=contact, actor=front_desk, phone="nope")
    contact.refresh_from_db()
    assert contact.phone == "+12025550100"


def test_consent_records_when_the_patient_opted_in_and_out(front_desk):
    # given
    patient = PatientFactory(organization=front_desk.organization)
    # when
    consent = services.consent_set(
        patient=patient, actor=front_desk, channel=Channel.SMS, status=ConsentStatus.OPTED_IN, source="front desk"
    )
    opted_in_at = consent.opted_in_at
    consent = services.consent_set(
        patient=patient, actor=front_desk, channel=Channel.SMS, status=ConsentStatus.OPTED_OUT, source="SMS STOP"
    )
    # then
    assert CommunicationConsent.objects.count() == 1
    assert consent.opted_in_at == opted_in_at
    assert consent.opted_out_at is not None and consent.opted_out_at >= opted_in_at
    assert consent.source == "SMS STOP"
    assert AuditEvent.objects.filter(action="consent.opted_out", patient_id=patient.pk).exists()


def test_consent_with_unknown_channel_is_refused(front_desk):
    patient = PatientFactory(organization=front_desk.organization)
    with pytest.raises(ValidationError) as exc:
        services.consent_set(patient=patient, actor=front_desk, channel="pigeon", status=ConsentStatus.OPTED_IN)
    assert "channel" in field_errors(exc)


def test_alert_add_and_deactivate(front_desk):
    patient = PatientFactory(organization=front_desk.organization)
    alert = services.alert_add(patient=patient, actor=front_desk, kind=AlertKind.FALL_RISK, note="uses a walker")
    assert alert.is_active and alert.created_by == front_desk
    services.alert_deactivate(alert=alert, actor=front_desk)
    alert.refresh_from_db()
    assert not alert.is_active


def test_alert_of_unknown_kind_is_refused(front_desk):
    patient = PatientFactory(organization=front_desk.organization)
    with pytest.raises(ValidationError) as exc:
        services.alert_add(patient=patient, actor=front_desk, kind="bogus")
    assert "kind" in field_errors(exc)


def test_alert_of_another_practice_cannot_be_deactivated(front_desk, other_org):
    alert = PatientAlertFactory(patient__organization=other_org)
    with pytest.raises(ValidationError):
        services.alert_deactivate(alert=alert, actor=front_desk)


def test_guarantor_self_another_patient_or_outside_person(front_desk):
    # given
    child = PatientFactory(organization=front_desk.organization)
    parent = PatientFactory(organization=front_desk.organization)
    # when / then: self
    g = services.guarantor_set(patient=child, actor=front_desk, relationship=Relationship.SELF, name="ignored")
    assert g.guarantor_patient is None and g.name == ""
    # another patient
    g = services.guarantor_set(patient=child, actor=front_desk, relationship=Relationship.PARENT, guarantor_patient=parent)
    assert g.guarantor_patient == parent
    # an outside person
    g = services.guarantor_set(
        patient=child, actor=front_desk, relationship=Relationship.GUARDIAN, name="Rosa Diaz", phone="202-555-0190"
    )
    assert g.guarantor_patient is None and g.name == "Rosa Diaz" and g.phone == "+12025550190"
    assert Guarantor.objects.count() == 1


def test_guarantor_from_another_practice_is_refused(front_desk, other_org):
    patient = PatientFactory(organization=front_desk.organization)
    stranger = PatientFactory(organization=other_org)
    with pytest.raises(ValidationError) as exc:
        services.guarantor_set(patient=patient, actor=front_desk, relationship=Relationship.PARENT, guarantor_patient=stranger)
    assert "guarantor_patient" in field_errors(exc)
    assert not Guarantor.objects.exists()


def test_outside_guarantor_needs_a_name_and_a_valid_phone(front_desk):
    patient = PatientFactory(organization=front_desk.organization)
    with pytest.raises(ValidationError) as exc:
        services.guarantor_set(patient=patient, actor=front_desk, relationship=Relationship.PARENT, phone="1")
    assert "phone" in field_errors(exc)
    with pytest.raises(ValidationError) as exc:
        services.guarantor_set(patient=patient, actor=front_desk, relationship=Relationship.PARENT)
    assert "name" in field_errors(exc)
    assert not Guarantor.objects.exists()


# --- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("202-555-0143", "+12025550143"), ("+1 (202) 555 0143", "+12025550143"), ("+44 20 7946 0018", "+442079460018"), ("", "")],
)
def test_phone_normalisation(typed, stored):
    assert normalize_phone(typed, field="phone") == stored


@pytest.mark.django_db(transaction=True)
def test_automatic_mrns_stay_unique_when_created_at_the_same_moment(front_desk):
    # given: several front desks registering at once (each thread has its own connection)
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def register(n: int) -> str:
        try:
            return new_patient(front_desk, first_name=f"Walk-in {n}").mrn
        finally:
            connection.close()

    # when
    with ThreadPoolExecutor(max_workers=4) as pool:
        mrns = list(pool.map(register, range(12)))
    # then
    assert len(set(mrns)) == 12
    assert sorted(mrns) == [f"{front_desk.organization.mrn_prefix}{n:07d}" for n in range(1, 13)]
