from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients import services
from clinicdesk.patients.choices import Channel, ConsentStatus, PatientStatus, Relationship
from clinicdesk.patients.models import (
    CommunicationConsent,
    Document,
    EmergencyContact,
    Guarantor,
    Patient,
    PatientAlert,
)
from clinicdesk.patients.selectors import patient_search
from clinicdesk.patients.selectors.merge import patient_references
from clinicdesk.patients.tests.factories import (
    ConsentFactory,
    DocumentFactory,
    EmergencyContactFactory,
    PatientAlertFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

BORN = date(1985, 3, 7)


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="manager1")


@pytest.fixture
def keep(org):
    return PatientFactory(organization=org, first_name="Ana", last_name="Álvarez", mrn="T0000001", date_of_birth=BORN)


@pytest.fixture
def duplicate(org):
    return PatientFactory(organization=org, first_name="Anna", last_name="Alvarez", mrn="T0000002", date_of_birth=BORN)


def snapshot() -> tuple:
    """Everything a failed merge must leave untouched."""
    return (
        sorted(Patient.objects.values_list("id", "status", "merged_into_id")),
        sorted(EmergencyContact.objects.values_list("id", "patient_id")),
        sorted(CommunicationConsent.objects.values_list("id", "patient_id")),
        sorted(Guarantor.objects.values_list("id", "patient_id", "guarantor_patient_id")),
        AuditEvent.objects.filter(action="patient.merged").count(),
    )


# --- the service ------------------------------------------------------------------------------------


def test_related_records_are_found_generically():
    found = {f"{field.model._meta.label}.{field.name}" for field in patient_references()}
    assert {
        "patients.EmergencyContact.patient", "patients.PatientAlert.patient", "patients.Document.patient",
        "patients.CommunicationConsent.patient", "patients.Guarantor.patient", "patients.Guarantor.guarantor_patient",
    } <= found
    assert "patients.Patient.merged_into" not in found


def test_merge_moves_everything_and_hides_the_duplicate(manager, keep, duplicate):
    # given
    contacts = EmergencyContactFactory.create_batch(2, patient=duplicate)
    alert = PatientAlertFactory(patient=duplicate)
    document = DocumentFactory(patient=duplicate)
    consent = ConsentFactory(patient=duplicate, channel=Channel.EMAIL)
    EmergencyContactFactory(patient=keep)
    # when
    result = services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    # then
    assert result == keep
    assert set(EmergencyContact.objects.filter(patient=keep)) >= set(contacts)
    assert EmergencyContact.objects.filter(patient=keep).count() == 3
    assert PatientAlert.objects.get(pk=alert.pk).patient == keep
    assert Document.objects.get(pk=document.pk).patient == keep
    assert CommunicationConsent.objects.get(pk=consent.pk).patient == keep
    duplicate.refresh_from_db()
    assert duplicate.merged_into == keep
    assert duplicate.status == PatientStatus.INACTIVE
    assert patient_search(actor=manager, query="alvarez") == [keep]


def test_merge_is_audited_naming_both_records(manager, keep, duplicate):
    # given
    EmergencyContactFactory(patient=duplicate)
    # when
    services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    # then
    event = AuditEvent.objects.get(action="patient.merged")
    assert event.actor == manager
    assert event.patient_id == keep.pk
    assert "T0000001" in event.summary and "T0000002" in event.summary
    assert event.changes["kept"]["id"] == keep.pk
    assert event.changes["merged"]["id"] == duplicate.pk
    assert event.changes["moved"] == {"patients.emergencycontact.patient": 1}


def test_the_kept_guarantor_wins(manager, keep, duplicate):
    # given
    kept = Guarantor.objects.create(patient=keep, relationship=Relationship.PARENT, name="Rosa Álvarez")
    Guarantor.objects.create(patient=duplicate, relationship=Relationship.SPOUSE, name="Someone Else")
    # when
    services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    # then
    assert list(Guarantor.objects.filter(patient__in=[keep, duplicate])) == [kept]


def test_the_duplicates_guarantor_moves_when_the_kept_record_has_none(manager, keep, duplicate):
    theirs = Guarantor.objects.create(patient=duplicate, relationship=Relationship.PARENT, name="Rosa Álvarez")
    services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    assert Guarantor.objects.get(pk=theirs.pk).patient == keep


def test_patients_guaranteed_by_the_duplicate_are_now_guaranteed_by_the_kept_record(manager, org, keep, duplicate):
    # given a child whose guarantor is the duplicate record, and the kept record guaranteed by the duplicate
    child = PatientFactory(organization=org, date_of_birth=date(2015, 1, 1))
    Guarantor.objects.create(patient=child, relationship=Relationship.PARENT, guarantor_patient=duplicate)
    Guarantor.objects.create(patient=keep, relationship=Relationship.OTHER, guarantor_patient=duplicate)
    # when
    services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    # then
    assert Guarantor.objects.get(patient=child).guarantor_patient == keep
    # a record cannot be its own outside guarantor: it becomes "self"
    own = Guarantor.objects.get(patient=keep)
    assert (own.relationship, own.guarantor_patient) == (Relationship.SELF, None)


@pytest.mark.parametrize("newer", ["kept", "duplicate"])
def test_consent_keeps_the_most_recent_decision_per_channel(manager, keep, duplicate, newer):
    # given both records answered for SMS, one more recently
    now = timezone.now()
    old, new = now - timedelta(days=300), now - timedelta(days=2)
    kept = ConsentFactory(patient=keep, channel=Channel.SMS, status=ConsentStatus.OPTED_IN,
                          opted_in_at=new if newer == "kept" else old)
    theirs = ConsentFactory(patient=duplicate, channel=Channel.SMS, status=ConsentStatus.OPTED_OUT,
                            opted_out_at=new if newer == "duplicate" else old)
    # when
    services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    # then
    remaining = CommunicationConsent.objects.get(patient=keep, channel=Channel.SMS)
    assert remaining.pk == (kept.pk if newer == "kept" else theirs.pk)
    assert not CommunicationConsent.objects.filter(patient=duplicate).exists()


def test_records_merged_earlier_follow_to_the_survivor(manager, org, keep, duplicate):
    older = PatientFactory(organization=org, merged_into=duplicate, status=PatientStatus.INACTIVE)
    services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    older.refresh_from_db()
    assert older.merged_into == keep


@pytest.mark.parametrize(
    ("case", "field"),
    [("same", "keep"), ("other_practice", "keep"), ("already_merged", "merge"), ("keep_merged", "keep")],
)
def test_bad_merges_are_refused_and_change_nothing(manager, org, other_org, keep, duplicate, case, field):
    # given
    EmergencyContactFactory(patient=duplicate)
    target, source = keep, duplicate
    if case == "same":
        source = keep
    elif case == "other_practice":
        target = PatientFactory(organization=other_org)
    elif case == "already_merged":
        Patient.objects.filter(pk=duplicate.pk).update(merged_into=keep, status=PatientStatus.INACTIVE)
        source = Patient.objects.get(pk=duplicate.pk)
    elif case == "keep_merged":
        survivor = PatientFactory(organization=org)
        Patient.objects.filter(pk=keep.pk).update(merged_into=survivor, status=PatientStatus.INACTIVE)
        target = Patient.objects.get(pk=keep.pk)
    before = snapshot()
    # when
    with pytest.raises(ValidationError) as exc_info:
        services.patient_merge(keep=target, merge=source, actor=manager)
    # then
    assert field in exc_info.value.message_dict
    assert snapshot() == before


def test_merging_needs_the_merge_permission(front_desk, keep, duplicate):
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.patient_merge(keep=keep, merge=duplicate, actor=front_desk)
    assert snapshot() == before


def test_a_merge_that_fails_half_way_leaves_nothing_behind(manager, keep, duplicate, monkeypatch):
    # given
    EmergencyContactFactory(patient=duplicate)
    before = snapshot()
    from clinicdesk.patients.services import merge as merge_module

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(merge_module, "audit_event", explode)
    # when
    with pytest.raises(RuntimeError):
        services.patient_merge(keep=keep, merge=duplicate, actor=manager)
    # then
    assert snapshot() == before


# --- the merge page ------------------------------------------------------------------------------------


def test_pick_page_offers_the_likely_duplicates(client_as, manager, keep, duplicate):
    response = client_as(manager).get(reverse("patients:merge", args=[duplicate.public_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"?into={keep.public_id}" in html
    assert "same birth date, similar name" in html


def test_pick_page_searches_for_the_record_to_keep(client_as, manager, org, duplicate):
    other = PatientFactory(organization=org, first_name="Zoe", last_name="Quint")
    response = client_as(manager).get(reverse("patients:merge", args=[duplicate.public_id]), {"q": "quint"})
    assert f"?into={other.public_id}" in response.content.decode()


def test_comparison_shows_both_records_and_audits_the_reads(client_as, manager, keep, duplicate):
    # given
    DocumentFactory(patient=duplicate)
    # when
    response = client_as(manager).get(reverse("patients:merge", args=[duplicate.public_id]), {"into": keep.public_id})
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "T0000001" in html and "T0000002" in html
    assert "differs" in html
    assert "Documents" in html
    viewed = AuditEvent.objects.filter(action="patient.viewed", summary="Compared for a merge")
    assert set(viewed.values_list("patient_id", flat=True)) == {keep.pk, duplicate.pk}


def test_confirming_merges_and_opens_the_kept_record(client_as, manager, keep, duplicate):
    url = reverse("patients:merge", args=[duplicate.public_id])
    response = client_as(manager).post(url, {"into": keep.public_id, "confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", kwargs={"public_id": keep.public_id})
    duplicate.refresh_from_db()
    assert duplicate.merged_into == keep


def test_without_the_tick_nothing_is_merged(client_as, manager, keep, duplicate):
    before = snapshot()
    response = client_as(manager).post(reverse("patients:merge", args=[duplicate.public_id]), {"into": keep.public_id})
    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("into", ["", "not-a-public-id", "zzzzzzzzzzzzzz"])
def test_a_bad_record_to_keep_goes_back_to_choosing(client_as, manager, duplicate, into):
    before = snapshot()
    url = reverse("patients:merge", args=[duplicate.public_id])
    response = client_as(manager).post(url, {"into": into, "confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == url
    assert snapshot() == before


def test_merging_into_itself_is_refused(client_as, manager, duplicate):
    url = reverse("patients:merge", args=[duplicate.public_id])
    client = client_as(manager)
    assert client.get(url, {"into": duplicate.public_id}).status_code == 302
    response = client.post(url, {"into": duplicate.public_id, "confirm": "on"}, follow=True)
    assert "cannot be merged into itself" in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None


def test_another_practices_record_cannot_be_merged_or_seen(client_as, manager, other_org, duplicate):
    stranger = PatientFactory(organization=other_org)
    client = client_as(manager)
    assert client.get(reverse("patients:merge", args=[stranger.public_id])).status_code == 404
    url = reverse("patients:merge", args=[duplicate.public_id])
    assert client.post(url, {"into": stranger.public_id, "confirm": "on"}).status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.BILLER, Role.AUDITOR])
def test_merge_page_needs_the_merge_permission(client_as, make_user, keep, duplicate, role):
    client = client_as(make_user(role))
    url = reverse("patients:merge", args=[duplicate.public_id])
    assert client.get(url).status_code == 403
    assert client.post(url, {"into": keep.public_id, "confirm": "on"}).status_code == 403


def test_merge_post_needs_the_csrf_token(manager, keep, duplicate):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post(reverse("patients:merge", args=[duplicate.public_id]), {"into": keep.public_id, "confirm": "on"})
    assert response.status_code == 403
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
