import csv
import io
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.choices import AlertKind, Channel, ConsentStatus, Relationship
from clinicdesk.patients.models import (
    CommunicationConsent,
    Document,
    EmergencyContact,
    Guarantor,
    Patient,
    PatientAlert,
)
from clinicdesk.patients.tests.factories import (
    PDF_BYTES,
    DocumentFactory,
    EmergencyContactFactory,
    PatientAlertFactory,
    PatientFactory,
)
from clinicdesk.patients.views import PatientTab, register_patient_tab

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org, first_name="Ana", last_name="Lopez", preferred_name="Annie", pronouns="she/her",
                          date_of_birth=date(1980, 5, 17), mrn="T0000100")


def detail_url(patient, **query):
    url = reverse("patients:detail", kwargs={"public_id": patient.public_id})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


# --- the patient page ---------------------------------------------------------------------------------


def test_patient_page_shows_the_header_and_audits_the_read(client_as, front_desk, patient):
    # given
    PatientAlertFactory(patient=patient, kind=AlertKind.INTERPRETER, note="Spanish")
    # when
    response = client_as(front_desk).get(detail_url(patient))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Lopez, Ana", "Annie", "she/her", "T0000100", "Needs interpreter", "Active", "Balance", "Next appointment", "—"):
        assert text in html
    for label in ("Summary", "Appointments", "Billing", "Insurance", "Documents", "Messages"):  # billing and insurance take over "Account" and "Coverage"
        assert f">{label}</a>" in html
    event = AuditEvent.objects.get(action="patient.viewed", patient_id=patient.pk)
    assert event.actor_id == front_desk.pk
    assert event.channel == AuditChannel.PAGE


def test_empty_tabs_say_nothing_here_yet(client_as, front_desk, patient, monkeypatch):
    # Every placeholder tab has been taken over by a later app; a tab without a template stands in.
    from clinicdesk.patients.views import PATIENT_TABS, PatientTab

    monkeypatch.setitem(PATIENT_TABS, "placeholder", PatientTab("placeholder", "Placeholder", order=99))
    response = client_as(front_desk).get(detail_url(patient, tab="placeholder"))
    assert "Nothing here yet" in response.content.decode()


def test_another_practices_patient_is_not_found_and_not_audited_as_read(client_as, front_desk, other_org):
    stranger = PatientFactory(organization=other_org)
    client = client_as(front_desk)
    for url in (detail_url(stranger), reverse("patients:edit", args=[stranger.public_id]),
                reverse("patients:print", args=[stranger.public_id])):
        assert client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(patient_id=stranger.pk).exclude(action="patient.created").exists()


def test_merged_patient_is_not_found(client_as, front_desk, patient, org):
    merged = PatientFactory(organization=org, merged_into=patient)
    assert client_as(front_desk).get(detail_url(merged)).status_code == 404


def test_a_role_without_patient_access_is_refused(client_as, auditor, patient):
    assert client_as(auditor).get(detail_url(patient)).status_code == 403


def test_tabs_are_extensible(client_as, front_desk, patient):
    # given: a later app registers a tab
    register_patient_tab(PatientTab("care-plan", "Care plan", order=55))
    try:
        # when
        html = client_as(front_desk).get(detail_url(patient, tab="care-plan")).content.decode()
    finally:
        from clinicdesk.patients.views import PATIENT_TABS

        PATIENT_TABS.pop("care-plan")
    # then
    assert 'aria-selected="true" tabindex="0">Care plan</a>' in html
    assert "Nothing here yet" in html


@pytest.mark.parametrize("tab", ["summary", "documents"])
def test_patient_page_query_count_does_not_grow_with_contacts_or_documents(client_as, front_desk, org, tab):
    # given
    client = client_as(front_desk)
    small = PatientFactory(organization=org)
    EmergencyContactFactory(patient=small)
    DocumentFactory(patient=small)
    big = PatientFactory(organization=org)
    EmergencyContactFactory.create_batch(20, patient=big)
    DocumentFactory.create_batch(20, patient=big)
    PatientAlertFactory.create_batch(5, patient=big)
    client.get(detail_url(small, tab=tab))  # warm the session and caches
    # when
    with CaptureQueriesContext(connection) as one:
        assert client.get(detail_url(small, tab=tab)).status_code == 200
    with CaptureQueriesContext(connection) as twenty:
        response = client.get(detail_url(big, tab=tab))
    # then
    assert response.status_code == 200
    assert len(twenty.captured_queries) == len(one.captured_queries)


def test_print_is_audited_as_a_print(client_as, front_desk, patient):
    response = client_as(front_desk).get(reverse("patients:print", args=[patient.public_id]))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="patient.printed", patient_id=patient.pk)
    assert event.channel == AuditChannel.PRINT


# --- create and edit ---------------------------------------------------------------------------------------


def form_data(**overrides):
    data = {
        "first_name": "Maria", "last_name": "Santos", "date_of_birth": "1975-03-02", "sex": "female",
        "preferred_channel": "sms", "preferred_language": "en", "country": "US", "phone_mobile": "202 555 0170",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_create_form_is_keyboard_friendly(client_as, front_desk):
    html = client_as(front_desk).get(reverse("patients:create")).content.decode()
    first_input = re.search(r"<input[^>]*name=\"first_name\"[^>]*>", html).group(0)
    assert "autofocus" in first_input
    assert 'type="date"' in html
    assert '<label for="id_first_name">' in html
    assert html.index('name="first_name"') < html.index('name="last_name"') < html.index('name="date_of_birth"')


def test_create_registers_the_patient_and_assigns_an_mrn(client_as, front_desk):
    response = client_as(front_desk).post(reverse("patients:create"), form_data())
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(patient)
    assert patient.mrn == "T0000001"
    assert patient.phone_mobile == "+12025550170"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone_mobile", "555", "not a valid phone number"),
        ("email", "maria@", "valid email"),
        ("date_of_birth", "2999-01-01", "cannot be in the future"),
    ],
)
def test_create_shows_errors_on_the_field_and_saves_nothing(client_as, front_desk, field, value, message):
    response = client_as(front_desk).post(reverse("patients:create"), form_data(**{field: value}))
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}-error"' in html
    field_block = html.split(f'<label for="id_{field}"')[1].split('<div class="field')[0]
    assert message in field_block
    assert 'aria-invalid="true"' in field_block
    assert not Patient.objects.exists()


def test_create_refuses_a_duplicate_mrn_on_the_field(client_as, front_desk, patient):
    response = client_as(front_desk).post(reverse("patients:create"), form_data(mrn=patient.mrn))
    assert response.status_code == 400
    assert f"MRN {patient.mrn} is already used" in response.content.decode()
    assert Patient.objects.count() == 1


def test_create_warns_about_likely_duplicates_and_needs_create_anyway(client_as, front_desk, patient):
    # given: the same person as `patient`, typed again
    client = client_as(front_desk)
    data = form_data(first_name="Ana", last_name="Lopez", date_of_birth="1980-05-17", phone_mobile="")
    # when
    warned = client.post(reverse("patients:create"), data)
    # then
    assert warned.status_code == 400
    html = warned.content.decode()
    assert "This may be someone already registered" in html
    assert detail_url(patient) in html
    assert 'type="checkbox" name="create_anyway"' in html
    assert Patient.objects.count() == 1
    # when they confirm
    confirmed = client.post(reverse("patients:create"), {**data, "create_anyway": "on"})
    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2
    assert AuditEvent.objects.filter(action="patient.duplicate_override").exists()


def test_edit_saves_changes(client_as, front_desk, patient):
    url = reverse("patients:edit", args=[patient.public_id])
    client = client_as(front_desk)
    form = client.get(url)
    assert form.status_code == 200
    assert AuditEvent.objects.filter(action="patient.viewed", patient_id=patient.pk).exists()
    data = {k: v for k, v in form.context["form"].initial.items() if v is not None}
    data.update({"last_name": "Lopez-Ruiz", "date_of_birth": "1980-05-17", "primary_provider": ""})
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    patient.refresh_from_db()
    assert patient.last_name == "Lopez-Ruiz"


def test_edit_with_a_bad_email_shows_the_error_and_changes_nothing(client_as, front_desk, patient):
    client = client_as(front_desk)
    url = reverse("patients:edit", args=[patient.public_id])
    data = {k: v for k, v in client.get(url).context["form"].initial.items() if v is not None}
    data.update({"email": "not an email", "last_name": "Changed", "primary_provider": ""})
    response = client.post(url, data)
    assert response.status_code == 400
    assert 'id="id_email-error"' in response.content.decode()
    patient.refresh_from_db()
    assert patient.last_name == "Lopez"


# --- list and export ---------------------------------------------------------------------------------------


def test_list_shows_recent_patients_and_searches(client_as, front_desk, org):
    PatientFactory(organization=org, first_name="Zed", last_name="Quigley")
    PatientFactory(organization=org, first_name="Amy", last_name="Brown")
    client = client_as(front_desk)

    def listed():
        # Only the result rows: the signed-in user's own name in the header may be anything.
        html = client.get(reverse("patients:list"), params).content.decode()
        return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]

    params = {}
    rows = listed()
    assert "Quigley, Zed" in rows and "Brown, Amy" in rows
    params = {"q": "quigley"}
    rows = listed()
    assert "Quigley, Zed" in rows and "Brown" not in rows


def test_list_with_an_unknown_sort_field_says_so(client_as, front_desk):
    response = client_as(front_desk).get(reverse("patients:list"), {"sort": "password"})
    assert response.status_code == 400
    assert "Unknown sort field &#x27;password&#x27;" in response.content.decode()


def test_list_does_not_show_other_practices(client_as, front_desk, other_org):
    PatientFactory(organization=other_org, last_name="Outsider")
    assert "Outsider" not in client_as(front_desk).get(reverse("patients:list")).content.decode()


def test_list_query_count_does_not_grow_with_rows(client_as, front_desk, org):
    client = client_as(front_desk)
    PatientFactory(organization=org)
    client.get(reverse("patients:list"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("patients:list"))
    PatientFactory.create_batch(30, organization=org)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("patients:list"))
    assert len(many.captured_queries) == len(one.captured_queries)


def test_export_needs_the_export_permission(client_as, front_desk):
    assert client_as(front_desk).get(reverse("patients:export")).status_code == 403


def test_export_is_a_csv_and_audited_per_patient(client_as, make_user, org):
    # given
    manager = make_user(Role.OFFICE_MANAGER)
    patients = PatientFactory.create_batch(3, organization=org)
    # when
    response = client_as(manager).get(reverse("patients:export"), {"sort": "mrn"})
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0][0] == "MRN"
    assert sorted(r[0] for r in rows[1:]) == sorted(p.mrn for p in patients)
    exported = AuditEvent.objects.filter(action="patient.exported", channel=AuditChannel.EXPORT)
    assert set(exported.values_list("patient_id", flat=True)) == {p.pk for p in patients}
    assert AuditEvent.objects.filter(action="patient_list.exported", actor=manager).exists()


def test_export_with_an_unknown_sort_is_refused(client_as, make_user):
    manager = make_user(Role.OFFICE_MANAGER)
    response = client_as(manager).get(reverse("patients:export"), {"sort": "ssn"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="patient_list.exported").exists()


# --- contacts, consents, alerts, guarantor -------------------------------------------------------------------


def test_contact_add_edit_remove_through_the_pages(client_as, front_desk, patient):
    client = client_as(front_desk)
    bad = client.post(reverse("patients:contact_add", args=[patient.public_id]),
                      {"name": "Luis", "relationship": "spouse", "phone": "12"})
    assert bad.status_code == 400 and 'id="id_phone-error"' in bad.content.decode()
    assert not EmergencyContact.objects.exists()
    client.post(reverse("patients:contact_add", args=[patient.public_id]),
                {"name": "Luis", "relationship": "spouse", "phone": "202-555-0101"})
    contact = EmergencyContact.objects.get()
    client.post(reverse("patients:contact_edit", args=[patient.public_id, contact.pk]),
                {"name": "Luis Lopez", "relationship": "spouse", "phone": "202-555-0101"})
    contact.refresh_from_db()
    assert contact.name == "Luis Lopez"
    assert "Luis Lopez" in client.get(detail_url(patient)).content.decode()
    client.post(reverse("patients:contact_remove", args=[patient.public_id, contact.pk]))
    assert not EmergencyContact.objects.exists()


def test_contact_of_another_patient_is_not_found(client_as, front_desk, patient, org):
    other = EmergencyContactFactory(patient__organization=org)
    url = reverse("patients:contact_remove", args=[patient.public_id, other.pk])
    assert client_as(front_desk).post(url).status_code == 404
    assert EmergencyContact.objects.filter(pk=other.pk).exists()


def test_consent_alert_and_guarantor_pages(client_as, front_desk, patient, org):
    client = client_as(front_desk)
    client.post(reverse("patients:consent", args=[patient.public_id]),
                {"channel": Channel.EMAIL, "status": ConsentStatus.OPTED_OUT, "source": "phone call"})
    assert CommunicationConsent.objects.get().opted_out_at is not None
    client.post(reverse("patients:alert_add", args=[patient.public_id]), {"kind": AlertKind.FALL_RISK, "note": ""})
    alert = PatientAlert.objects.get()
    client.post(reverse("patients:alert_deactivate", args=[patient.public_id, alert.pk]))
    alert.refresh_from_db()
    assert not alert.is_active
    parent = PatientFactory(organization=org, mrn="T0000900")
    client.post(reverse("patients:guarantor", args=[patient.public_id]),
                {"relationship": Relationship.PARENT, "guarantor_patient": parent.mrn})
    assert Guarantor.objects.get().guarantor_patient == parent
    missing = client.post(reverse("patients:guarantor", args=[patient.public_id]),
                          {"relationship": Relationship.PARENT, "guarantor_patient": "NOPE"})
    assert missing.status_code == 400 and "No patient with MRN NOPE" in missing.content.decode()


# --- documents ----------------------------------------------------------------------------------------------


def test_upload_through_the_page_then_view_it_audited(client_as, front_desk, patient):
    # given
    client = client_as(front_desk)
    upload = SimpleUploadedFile("referral.pdf", PDF_BYTES, content_type="application/pdf")
    # when
    response = client.post(reverse("patients:document_upload", args=[patient.public_id]),
                           {"file": upload, "category": "referral", "title": "Cardiology referral"})
    # then
    assert response.status_code == 302
    document = Document.objects.get()
    assert "Cardiology referral" in client.get(detail_url(patient, tab="documents")).content.decode()
    opened = client.get(reverse("patients:document", args=[document.public_id]))
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content) == PDF_BYTES
    assert opened["Content-Type"] == "application/pdf"
    assert opened["Content-Disposition"].startswith("inline")
    assert opened["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in opened["Cache-Control"]
    event = AuditEvent.objects.get(action="document.viewed")
    assert event.patient_id == patient.pk and event.actor_id == front_desk.pk


def test_mislabelled_upload_is_refused_on_the_field(client_as, front_desk, patient):
    upload = SimpleUploadedFile("scan.pdf", b"just some text, not a PDF at all", content_type="application/pdf")
    response = client_as(front_desk).post(reverse("patients:document_upload", args=[patient.public_id]),
                                          {"file": upload, "category": "referral"})
    assert response.status_code == 400
    assert 'id="id_file-error"' in response.content.decode()
    assert not Document.objects.exists()


def test_another_practices_document_is_not_found(client_as, front_desk, other_org):
    document = DocumentFactory(patient__organization=other_org)
    assert client_as(front_desk).get(reverse("patients:document", args=[document.public_id])).status_code == 404
    assert not AuditEvent.objects.filter(action="document.viewed").exists()


def test_document_view_needs_the_document_permission(client_as, auditor, org):
    document = DocumentFactory(patient__organization=org)
    assert client_as(auditor).get(reverse("patients:document", args=[document.public_id])).status_code == 403
