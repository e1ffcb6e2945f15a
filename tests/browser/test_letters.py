"""Templates and letters in real Chromium: the manager adds the default templates and has an unknown merge field
refused on the form; a doctor finds the patient, starts a letter from a template, edits it beside its preview,
makes it final and sees it filed; the patient's secure link asks for the date of birth first."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.communications.choices import LetterStatus, LinkAction
from clinicdesk.communications.links import link_issue
from clinicdesk.communications.models import Letter, Letterhead, MessageTemplate, Signature
from clinicdesk.communications.services.letters import letter_finalize, letter_start
from clinicdesk.communications.tests.factories_letters import make_template
from clinicdesk.core.choices import Role
from clinicdesk.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def temporary_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def test_manager_adds_defaults_and_an_unknown_field_is_refused(page: Page, url, sign_in, administrator):
    sign_in(administrator)
    page.goto(url(reverse("communications:template_list")))
    page.get_by_role("button", name="Add the default templates").click()
    expect(page.get_by_role("status")).to_contain_text("20 default templates added.")
    page.get_by_role("link", name="Normal test results").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Normal test results")
    page.get_by_role("link", name="Edit (new version)").click()
    body = page.get_by_label("Body")
    body.fill("<p>Dear {{ patient.first_name }},</p>\n<p>Your SSN is {{ patient.ssn }}</p>")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("alert").filter(has_text="Unknown merge field")).to_have_text(
        "Unknown merge field 'patient.ssn' (line 2).")
    # a preview of good wording, then saving it
    body.fill("<p>Dear {{ patient.first_name }},</p>\n<p>All clear.</p>")
    page.get_by_role("button", name="Preview with sample data").click()
    expect(page.locator(".letter-preview")).to_contain_text("Dear Ana,")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 2")
    template = MessageTemplate.objects.get(code="normal-results")
    assert template.current.number == 2 and template.versions.count() == 2


def test_a_doctor_writes_and_finalizes_a_letter(page: Page, url, sign_in, make_user, org):
    # given a letter template and a patient
    make_template(org, name="Results letter")
    patient = PatientFactory(organization=org, first_name="Nina", last_name="Okafor", date_of_birth=date(1975, 6, 1))
    doctor = make_user(Role.CLINICIAN, username="drokafor", first_name="Emeka", last_name="Okafor", title="MD")
    sign_in(doctor)
    page.goto(url(reverse("communications:letter_list")))
    # when she finds the patient from the keyboard and starts a letter
    page.get_by_role("link", name="Write a letter").click()
    expect(page.get_by_label("Find the patient")).to_be_focused()
    page.keyboard.type("Okafor")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Okafor, Nina").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Letter to Okafor, Nina"))
    page.get_by_label("Template").select_option(label="Results letter")
    page.get_by_role("button", name="Start the letter").click()
    expect(page.get_by_role("status")).to_contain_text("Draft started")
    expect(page.locator("#letter-body")).to_contain_text("Dear Nina Okafor,")
    # and edits the wording
    page.get_by_label("Wording").fill("<p>Dear Nina,</p><p>Your thyroid tests are normal.</p><script>alert(1)</script>")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft saved.")
    expect(page.locator("#letter-body")).to_contain_text("Your thyroid tests are normal.")
    # then makes it final
    # (making the PDF can take a few seconds on a busy machine: wait for the page, not the click's default)
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="Make final").click(timeout=60_000)
    expect(page.get_by_role("status")).to_contain_text("filed in the patient's documents")
    expect(page.get_by_role("button", name="Print (PDF)")).to_be_visible()
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
    letter = Letter.objects.get()
    assert letter.status == LetterStatus.FINAL and letter.document.patient == patient
    assert "<script" not in letter.body_html
    # and it is in the list
    page.get_by_role("link", name="← Letters").click()
    expect(page.locator(f"#letter-{letter.public_id}")).to_contain_text("Final")


def test_the_secure_link_asks_for_the_birth_date(page: Page, url, make_user, org):
    doctor = make_user(Role.CLINICIAN, username="drlink")
    patient = PatientFactory(organization=org, date_of_birth=date(1980, 3, 4))
    letter = letter_finalize(actor=doctor, letter=letter_start(actor=doctor, patient=patient, template=make_template(org)))
    _, token = link_issue(organization=org, action=LinkAction.LETTER, letter=letter, patient=patient)
    page.goto(url(reverse("communications_public:link", args=[token])))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your letter")
    expect(page.get_by_label("Date of birth")).to_be_focused()
    page.get_by_label("Date of birth").fill("1999-12-31")
    page.get_by_role("button", name="Open the letter").click()
    expect(page.get_by_role("alert")).to_contain_text("does not match our records. 4 attempts left.")
    page.get_by_label("Date of birth").fill("1980-03-04")
    with page.expect_response(lambda r: r.request.method == "POST", timeout=30_000) as answer:
        page.get_by_role("button", name="Open the letter").click()
    response = answer.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"


def test_the_administrator_sets_a_letterhead_and_a_signature(page: Page, url, sign_in, administrator, make_user):
    # given a doctor without a signature
    doctor = make_user(Role.CLINICIAN, username="drlee", first_name="Grace", last_name="Lee")
    sign_in(administrator)
    # when the administrator adds the practice's default letterhead
    page.goto(url(reverse("communications:letterhead_list")))
    page.get_by_role("link", name="New letterhead").click()
    page.get_by_label("Practice name").fill("Riverside Family Medicine")
    page.get_by_label("Address").fill("100 Main Street\nSpringfield, IL 62701")
    page.get_by_label("Phone").fill("(217) 555-0100")
    page.get_by_role("button", name="Save letterhead").click()
    # then it is listed and stored
    expect(page.get_by_role("status")).to_contain_text("Letterhead saved.")
    expect(page.locator("main")).to_contain_text("Riverside Family Medicine")
    assert Letterhead.objects.get().location is None
    # when she gives the doctor a signature, from the keyboard after picking the doctor
    page.get_by_role("link", name="Signatures").click()
    page.get_by_role("link", name="New signature").click()
    page.get_by_label("Staff member").select_option(str(doctor.pk))
    page.get_by_label("Name line").fill("Grace Lee, MD")
    page.get_by_label("Name line").press("Enter")
    # then the signature is saved for that doctor
    expect(page.get_by_role("status")).to_contain_text("saved")
    assert Signature.objects.get(user=doctor).name_line == "Grace Lee, MD"
