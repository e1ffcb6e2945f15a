import shutil
import subprocess  # noqa: S404  (pdftotext on PDFs the tests made)
import tempfile
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.patients.choices import DocumentCategory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from ..choices import LetterDelivery, LetterStatus, LinkAction, MessageChannel, MessageState
from ..defaults import defaults_install
from ..links import link_issue
from ..models import ActionLink, Letter
from ..selectors.letters import letter_list, letters_for_patient
from ..services.letters import (
    letter_email_link,
    letter_finalize,
    letter_link_open,
    letter_print,
    letter_start,
    letter_update,
    letterhead_for,
    letterhead_save,
    signature_save,
)
from .factories_letters import LetterheadFactory, SignatureFactory, make_template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(["pdftotext", "-layout", handle.name, "-"], capture_output=True, check=True)  # noqa: S603, S607
    return " ".join(out.stdout.decode().split())


@pytest.fixture
def clinic(org, make_user):
    location = LocationFactory(organization=org, name="Harbor Office", address_line1="9 Harbor Road", city="Portsmouth",
                               state="NH", postal_code="03801", phone="(603) 555-0142")
    doctor = make_user(Role.CLINICIAN, username="drchen", first_name="Maria", last_name="Chen", title="MD")
    SignatureFactory(user=doctor, name_line="Maria Chen, MD", credentials="Board-certified in Family Medicine")
    LetterheadFactory(organization=org, location=location, practice_name="Harbor Family Medicine",
                      address="9 Harbor Road\nPortsmouth, NH 03801", footer="Confidential letter")
    patient = PatientFactory(organization=org, first_name="Ana", last_name="Alvarez", address_line1="12 Elm Street",
                             city="Dover", state="NH", postal_code="03820", email="ana@example.com",
                             date_of_birth=date(1980, 3, 4))
    return {"location": location, "doctor": doctor, "patient": patient, "template": make_template(org)}


def start(clinic, actor, **kwargs) -> Letter:
    return letter_start(actor=actor, patient=clinic["patient"], template=clinic["template"], location=clinic["location"],
                        signer=clinic["doctor"], **kwargs)


def test_start_fills_the_merge_fields_into_sanitised_html(clinic, front_desk):
    letter = start(clinic, front_desk)
    assert letter.status == LetterStatus.DRAFT and letter.author == front_desk
    assert letter.subject == "Results for Ana Alvarez"
    assert "<p>Dear Ana Alvarez,</p>" in letter.body_html and "(603) 555-0142" in letter.body_html
    assert letter.template_version == clinic["template"].current
    assert AuditEvent.objects.filter(action="letter.started", patient_id=clinic["patient"].pk).exists()


def test_start_refuses_a_text_template_another_patients_appointment_and_another_practice(clinic, front_desk, org, other_org):
    sms = make_template(org, code="sms-one", kind="sms", subject="", body="Hi {{ patient.first_name }}")
    with pytest.raises(ValidationError, match="not a letter"):
        letter_start(actor=front_desk, patient=clinic["patient"], template=sms)
    appointment = AppointmentFactory(organization=org)
    with pytest.raises(ValidationError) as refused:
        start(clinic, front_desk, appointment=appointment)
    assert "appointment" in refused.value.message_dict
    with pytest.raises(ValidationError, match="another practice"):
        letter_start(actor=front_desk, patient=PatientFactory(organization=other_org), template=clinic["template"])
    auditor = UserFactory(organization=org, role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        start(clinic, auditor)
    assert not Letter.objects.exists()


def test_update_sanitises_and_refuses_an_empty_letter(clinic, front_desk):
    letter = start(clinic, front_desk)
    letter = letter_update(actor=front_desk, letter=letter, subject="  Your   results ",
                           body_html='<p onclick="x()">Fine <script>alert(1)</script><a href="javascript:y">z</a>'
                                     '<img src=x onerror=alert(1)></p><h2>Next</h2><p style="color:red">ok</p>')
    assert letter.subject == "Your results"
    assert "script" not in letter.body_html and "onclick" not in letter.body_html and "javascript" not in letter.body_html
    assert "<img" not in letter.body_html and "style" not in letter.body_html and "<h2>Next</h2>" in letter.body_html
    with pytest.raises(ValidationError) as refused:
        letter_update(actor=front_desk, letter=letter, subject="x", body_html="<script>only this</script>")
    assert "empty" in refused.value.message_dict["body_html"][0]
    letter.refresh_from_db()
    assert "<h2>Next</h2>" in letter.body_html


def test_finalize_files_a_real_pdf_with_letterhead_address_body_and_signature(clinic, front_desk):
    # given a draft edited by the front desk
    letter = start(clinic, front_desk)
    letter_update(actor=front_desk, letter=letter, subject="Your results",
                  body_html="<p>Dear Ana,</p><p>Your cholesterol results are within the normal range.</p>")
    # when it is made final
    letter = letter_finalize(actor=front_desk, letter=letter)
    # then the PDF is in the patient's documents and reads right
    assert letter.status == LetterStatus.FINAL and letter.finalized_at is not None
    document = letter.document
    assert document.patient == clinic["patient"] and document.category == DocumentCategory.CORRESPONDENCE
    assert document.content_type == "application/pdf" and document.title == "Your results"
    with document.file.open("rb") as handle:
        text = pdf_text(handle.read())
    for expected in ("Harbor Family Medicine", "9 Harbor Road", "Ana Alvarez", "12 Elm Street", "Dover, NH 03820",
                     "Your cholesterol results are within the normal range.", "Kind regards,", "Maria Chen, MD",
                     "Board-certified in Family Medicine", "Confidential letter", "Re: Your results"):
        assert expected in text, expected
    # and a final letter never changes
    with pytest.raises(ValidationError, match="cannot be changed"):
        letter_update(actor=front_desk, letter=letter, subject="x", body_html="<p>y</p>")
    with pytest.raises(ValidationError, match="cannot be changed"):
        letter_finalize(actor=front_desk, letter=letter)


def test_letterhead_falls_back_to_the_practice_default_then_to_the_practice_name(org, clinic):
    elsewhere = LocationFactory(organization=org, name="Elsewhere", address_line1="1 Side St", phone="555-0001")
    assert letterhead_for(organization=org, location=clinic["location"]).practice_name == "Harbor Family Medicine"
    made_up = letterhead_for(organization=org, location=elsewhere)
    assert made_up.pk is None and made_up.practice_name == org.name and "1 Side St" in made_up.address
    LetterheadFactory(organization=org, location=None, practice_name="Practice Default Name")
    assert letterhead_for(organization=org, location=elsewhere).practice_name == "Practice Default Name"


def test_print_needs_a_final_letter_and_is_audited(clinic, front_desk):
    letter = start(clinic, front_desk)
    with pytest.raises(ValidationError, match="final first"):
        letter_print(actor=front_desk, letter=letter)
    letter = letter_finalize(actor=front_desk, letter=letter)
    data = letter_print(actor=front_desk, letter=letter)
    assert data.startswith(b"%PDF") and "Ana Alvarez" in pdf_text(data)
    letter.refresh_from_db()
    assert letter.delivery == LetterDelivery.PRINTED
    assert AuditEvent.objects.filter(action="letter.printed", target_id=str(letter.pk)).count() == 1


def test_email_link_queues_an_email_with_a_live_letter_link(clinic, front_desk, org):
    # given the default templates and a final letter
    defaults_install(organization=org)
    letter = letter_finalize(actor=front_desk, letter=start(clinic, front_desk))
    # when it is e-mailed
    message = letter_email_link(actor=front_desk, letter=letter, site_url="https://portal.example.org/")
    # then the e-mail carries a link (not the letter) that works for 14 days
    link = ActionLink.objects.get(letter=letter)
    assert link.action == LinkAction.LETTER and link.message == message and link.patient == clinic["patient"]
    assert 13 <= (link.expires_at - link.created_at).days <= 14
    assert message.channel == MessageChannel.EMAIL and message.state == MessageState.QUEUED
    assert message.to_address == "ana@example.com" and message.purpose == "letter"
    assert "https://portal.example.org/m/" in message.body and 'href="https://portal.example.org/m/' in message.html_body
    assert "cholesterol" not in message.body and "Harbor Family" not in message.subject
    letter.refresh_from_db()
    assert letter.delivery == LetterDelivery.EMAILED
    # and e-mailing again makes a second message, not a copy of the first
    assert letter_email_link(actor=front_desk, letter=letter, site_url="https://portal.example.org").pk != message.pk


def test_email_link_refuses_a_draft_and_a_patient_without_email(clinic, front_desk, org):
    defaults_install(organization=org)
    letter = start(clinic, front_desk)
    with pytest.raises(ValidationError, match="final first"):
        letter_email_link(actor=front_desk, letter=letter)
    clinic["patient"].email = ""
    clinic["patient"].save(update_fields=["email"])
    letter = letter_finalize(actor=front_desk, letter=letter)
    with pytest.raises(ValidationError, match="no e-mail address"):
        letter_email_link(actor=front_desk, letter=letter)
    assert not ActionLink.objects.exists()


def test_email_link_without_the_template_names_the_code(clinic, front_desk):
    letter = letter_finalize(actor=front_desk, letter=start(clinic, front_desk))
    with pytest.raises(ValidationError, match="letter-link-email"):
        letter_email_link(actor=front_desk, letter=letter)


def _link(org, letter):
    link, token = link_issue(organization=org, action=LinkAction.LETTER, letter=letter, patient=letter.patient)
    return link, token


def test_the_link_opens_with_the_right_birth_date_and_locks_after_five_wrong_ones(clinic, front_desk, org):
    letter = letter_finalize(actor=front_desk, letter=start(clinic, front_desk))
    link, _ = _link(org, letter)
    assert letter_link_open(link=link, date_of_birth=date(1980, 3, 4)).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="letter.viewed_by_patient", patient_id=letter.patient_id).count() == 1
    for left in (4, 3, 2, 1):
        with pytest.raises(ValidationError) as wrong:
            letter_link_open(link=link, date_of_birth=date(1981, 3, 4))
        assert f"{left} attempt" in wrong.value.message_dict["date_of_birth"][0]
    with pytest.raises(ValidationError) as locked:
        letter_link_open(link=link, date_of_birth=None)
    assert "locked" in locked.value.message_dict["token"][0]
    # even the right answer no longer opens it
    with pytest.raises(ValidationError, match="locked"):
        letter_link_open(link=link, date_of_birth=date(1980, 3, 4))
    link.refresh_from_db()
    assert link.used_at is not None
    assert AuditEvent.objects.filter(action="letter.link_refused", outcome="denied").count() == 5


def test_the_public_link_page_asks_then_serves_the_pdf_uncached(client, clinic, front_desk, org):
    letter = letter_finalize(actor=front_desk, letter=start(clinic, front_desk))
    _, token = _link(org, letter)
    url = reverse("communications_public:link", args=[token])
    page = client.get(url)
    assert page.status_code == 200 and "Date of birth" in page.content.decode()
    assert "Ana" not in page.content.decode()  # nothing about the patient before they prove who they are
    wrong = client.post(url, {"date_of_birth": "1999-01-01"})
    assert wrong.status_code == 400 and "does not match" in wrong.content.decode()
    bad = client.post(url, {"date_of_birth": "not a date"})
    assert bad.status_code == 400
    right = client.post(url, {"date_of_birth": "1980-03-04"})
    assert right.status_code == 200 and right["Content-Type"] == "application/pdf"
    assert right["Cache-Control"] == "private, no-store"
    assert "Ana Alvarez" in pdf_text(right.content)


def test_the_link_of_a_draft_is_not_valid(clinic, front_desk, org, client):
    letter = start(clinic, front_desk)
    _, token = _link(org, letter)
    response = client.post(reverse("communications_public:link", args=[token]), {"date_of_birth": "1980-03-04"})
    assert response.status_code == 410 and "not valid" in response.content.decode()


def test_letterheads_and_signatures_are_saved_by_managers_only(org, administrator, front_desk, clinic):
    head = letterhead_save(actor=administrator, organization=org, practice_name="Main Practice", address="1 A St",
                           accent_color="#112233")
    assert head.location is None
    with pytest.raises(ValidationError) as refused:
        letterhead_save(actor=administrator, organization=org, practice_name="", accent_color="red")
    assert {"practice_name", "accent_color", "location"} <= set(refused.value.message_dict)
    with pytest.raises(PermissionDenied):
        letterhead_save(actor=front_desk, organization=org, practice_name="x")
    signature = signature_save(actor=administrator, user=clinic["doctor"], name_line="Dr Maria Chen")
    assert signature.pk == clinic["doctor"].letter_signature.pk and signature.closing == "Sincerely,"


def test_selectors_scope_letters_to_the_practice(clinic, front_desk, make_user, other_org):
    letter = start(clinic, front_desk)
    assert list(letters_for_patient(actor=front_desk, patient=clinic["patient"])) == [letter]
    assert list(letter_list(actor=front_desk, q="alvarez")) == [letter]
    assert list(letter_list(actor=front_desk, status="final")) == []
    stranger = make_user(Role.ADMINISTRATOR, organization=other_org, username="stranger2")
    assert not letter_list(actor=stranger).exists()
    assert not letters_for_patient(actor=stranger, patient=clinic["patient"]).exists()


def test_demo_practice_has_templates_letterheads_signatures_and_final_letters():
    from clinicdesk.communications import demo_letters
    from clinicdesk.core import demo as core_demo
    from clinicdesk.patients import demo as patients_demo

    # given the demo practice with patients
    ctx = core_demo.seed()
    patients_demo.seed(ctx, patients=40, seed=7)
    org = ctx.organization
    # when the letters part is seeded
    added = demo_letters.seed(ctx, patients=40, seed=7)
    # then
    letters = list(Letter.objects.filter(organization=org))
    assert len(letters) == 4 and all(x.status == LetterStatus.FINAL and x.document_id for x in letters)
    assert added == 20 + 3 + 6 + 4  # templates, letterheads (2 locations + default), clinicians, letters
    results = next(x for x in letters if x.template_version.template.code == "normal-results")
    with results.document.file.open("rb") as handle:
        text = pdf_text(handle.read())
    assert "blood count and lipid panel" in text and "Wei Chen, MD" in text and results.patient.last_name in text
    # and a second run adds nothing
    assert demo_letters.seed(ctx, patients=40, seed=7) == 0
