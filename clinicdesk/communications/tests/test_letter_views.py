import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.patients.tests.factories import PatientFactory

from ..models import Letter, Letterhead, MessageTemplate, Signature
from ..services.letters import letter_finalize, letter_start
from .factories_letters import make_template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


# --- templates ---------------------------------------------------------------------------------------------------


def test_a_manager_creates_a_template_and_an_unknown_field_is_shown_on_the_form(client_as, administrator):
    client = client_as(administrator)
    bad = client.post(reverse("communications:template_create"), {
        "name": "Post-op", "code": "post-op", "kind": "letter", "purpose": "general", "subject": "",
        "body": "<p>Dear {{ patient.first_name }}</p>\n{{ patient.ssn }}"})
    assert bad.status_code == 400 and "Unknown merge field &#x27;patient.ssn&#x27; (line 2)." in body(bad)
    assert not MessageTemplate.objects.exists()
    good = client.post(reverse("communications:template_create"), {
        "name": "Post-op", "code": "post-op", "kind": "letter", "purpose": "general", "subject": "",
        "body": "<p>Dear {{ patient.first_name }}</p>"})
    template = MessageTemplate.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse("communications:template_detail", args=[template.pk])


def test_edit_previews_without_saving_then_saves_a_new_version(client_as, administrator, org):
    template = make_template(org)
    url = reverse("communications:template_edit", args=[template.pk])
    client = client_as(administrator)
    preview = client.post(url, {"subject": "Hi", "body": "<p>Hello {{ patient.first_name }}</p>", "preview": "1"})
    assert preview.status_code == 200 and "Hello Ana" in body(preview) and template.versions.count() == 1
    saved = client.post(url, {"subject": "Hi", "body": "<p>Hello {{ patient.first_name }}</p>"})
    assert saved.status_code == 302 and template.versions.count() == 2
    page = client.get(reverse("communications:template_version", args=[template.pk, 1]))
    assert "patient.display_name" in body(page)


def test_front_desk_reads_templates_but_cannot_change_them(client_as, front_desk, org):
    template = make_template(org)
    client = client_as(front_desk)
    assert client.get(reverse("communications:template_detail", args=[template.pk])).status_code == 200
    assert client.get(reverse("communications:template_edit", args=[template.pk])).status_code == 403
    assert client.post(reverse("communications:template_defaults")).status_code == 403


def test_preview_with_a_patient_is_audited(client_as, front_desk, org):
    template = make_template(org)
    patient = PatientFactory(organization=org, first_name="Zora", last_name="Quill")
    response = client_as(front_desk).get(reverse("communications:template_preview", args=[template.pk]),
                                         {"patient": patient.public_id})
    assert "Zora Quill" in body(response)
    assert AuditEvent.objects.filter(action="template.previewed", patient_id=patient.pk).exists()


def test_install_defaults_from_the_list(client_as, administrator):
    client = client_as(administrator)
    client.post(reverse("communications:template_defaults"))
    assert MessageTemplate.objects.count() == 20
    csv = body(client.get(reverse("communications:template_list"), {"format": "csv"}))
    assert "letter-link-email" in csv and csv.count("\n") == 21


def test_template_list_query_count_does_not_grow(client_as, administrator, org):
    client = client_as(administrator)
    make_template(org, code="one")
    client.get(reverse("communications:template_list"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("communications:template_list")).status_code == 200
    for n in range(8):
        make_template(org, code=f"more-{n}")
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("communications:template_list")).status_code == 200
    assert len(many) == len(few)


# --- letters -------------------------------------------------------------------------------------------------------


@pytest.fixture
def writer(make_user):
    return make_user(Role.CLINICIAN, username="drwho", first_name="Maria", last_name="Chen", title="MD")


def test_compose_from_patient_search_to_final_letter(client_as, writer, org):
    # given a letter template and a patient
    template = make_template(org)
    patient = PatientFactory(organization=org, first_name="Nina", last_name="Okafor")
    client = client_as(writer)
    # when the writer finds the patient and starts the letter
    found = client.get(reverse("communications:letter_new"), {"q": "Okafor"})
    assert f"?patient={patient.public_id}" in body(found)
    start_url = f"{reverse('communications:letter_new')}?patient={patient.public_id}"
    started = client.post(start_url, {"template": template.pk, "signer": writer.pk})
    letter = Letter.objects.get()
    assert started.status_code == 302 and letter.signer == writer
    # and edits the draft, with hostile HTML that the sanitiser drops
    detail = reverse("communications:letter_detail", args=[letter.public_id])
    edited = client.post(detail, {"subject": "Results", "body_html": "<p>All normal, Nina.</p><script>x()</script>",
                                  "signer": writer.pk})
    assert edited.status_code == 302
    page = body(client.get(detail))
    assert "All normal, Nina." in page and "<script>x()" not in page
    # then makes it final and prints it
    assert client.post(reverse("communications:letter_finalize", args=[letter.public_id])).status_code == 302
    letter.refresh_from_db()
    assert letter.status == "final"
    printed = client.post(reverse("communications:letter_print", args=[letter.public_id]))
    assert printed["Content-Type"] == "application/pdf" and printed.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="letter.viewed", patient_id=patient.pk).exists()


def test_a_final_letter_cannot_be_posted_to(client_as, writer, org):
    letter = letter_start(actor=writer, patient=PatientFactory(organization=org), template=make_template(org))
    letter_finalize(actor=writer, letter=letter)
    response = client_as(writer).post(reverse("communications:letter_detail", args=[letter.public_id]),
                                      {"subject": "x", "body_html": "<p>changed</p>"})
    assert response.status_code == 302
    letter.refresh_from_db()
    assert "changed" not in letter.body_html


def test_email_without_template_says_what_is_missing(client_as, writer, org):
    letter = letter_finalize(actor=writer, letter=letter_start(actor=writer, patient=PatientFactory(organization=org, email="p@example.com"),
                                                               template=make_template(org)))
    client = client_as(writer)
    response = client.post(reverse("communications:letter_email", args=[letter.public_id]), follow=True)
    assert "letter-link-email" in body(response)


def test_draft_pdf_preview_is_not_filed(client_as, writer, org):
    letter = letter_start(actor=writer, patient=PatientFactory(organization=org), template=make_template(org))
    response = client_as(writer).get(reverse("communications:letter_pdf", args=[letter.public_id]))
    assert response["Content-Type"] == "application/pdf" and response["Cache-Control"] == "private, no-store"
    letter.refresh_from_db()
    assert letter.document_id is None


def test_another_practices_letter_is_not_found(client_as, writer, other_org, make_user):
    stranger = make_user(Role.CLINICIAN, organization=other_org, username="strange-doc")
    letter = letter_start(actor=stranger, patient=PatientFactory(organization=other_org), template=make_template(other_org))
    client = client_as(writer)
    assert client.get(reverse("communications:letter_detail", args=[letter.public_id])).status_code == 404
    assert client.post(reverse("communications:letter_finalize", args=[letter.public_id])).status_code == 404


def test_letter_list_filters_audits_exports_and_keeps_its_query_count(client_as, writer, org):
    template = make_template(org)
    client = client_as(writer)
    # A name no generated patient has (a generated "Zimmerman" would match a search for "Zimmer").
    first = letter_start(actor=writer, patient=PatientFactory(organization=org, last_name="Quillfeather"), template=template)
    client.get(reverse("communications:letter_list"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("communications:letter_list")).status_code == 200
    for _ in range(6):
        letter_start(actor=writer, patient=PatientFactory(organization=org), template=template)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("communications:letter_list")).status_code == 200
    assert len(many) == len(few)
    filtered = body(client.get(reverse("communications:letter_list"), {"q": "Quillfeather"}))
    assert first.subject in filtered and filtered.count('id="letter-') == 1
    assert AuditEvent.objects.filter(action="letter.listed", target_id=str(first.pk)).exists()
    csv = body(client.get(reverse("communications:letter_list"), {"format": "csv", "q": "Quillfeather"}))
    assert "Quillfeather" in csv and csv.count("\n") == 2
    assert AuditEvent.objects.filter(action="letter.exported", patient_id=first.patient_id).exists()
    bad = client.get(reverse("communications:letter_list"), {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert bad.status_code == 400


def test_letterhead_and_signature_pages(client_as, administrator, org, writer):
    location = LocationFactory(organization=org, name="North")
    client = client_as(administrator)
    response = client.post(reverse("communications:letterhead_new"), {
        "location": location.pk, "practice_name": "North Clinic", "address": "1 North Rd", "accent_color": "#123456"})
    assert response.status_code == 302 and Letterhead.objects.get().location == location
    again = client.post(reverse("communications:letterhead_new"), {
        "location": location.pk, "practice_name": "Dup", "accent_color": "#123456"})
    assert again.status_code == 400 and "already has a letterhead" in body(again)
    assert client.post(reverse("communications:signature_new"), {
        "user": writer.pk, "closing": "Warmly,", "name_line": "Maria Chen, MD"}).status_code == 302
    assert Signature.objects.get().closing == "Warmly,"
    assert "North Clinic" in body(client.get(reverse("communications:letterhead_list"), {"format": "csv"}))
    assert client_as(writer).get(reverse("communications:letterhead_list")).status_code == 403
