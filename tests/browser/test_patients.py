"""The front desk's patient pages in a real browser: register, edit, find by typing, and file a document."""

import re
from datetime import date

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.patients.models import Document, Patient
from clinicdesk.patients.tests.factories import PDF_BYTES, PatientFactory

pytestmark = pytest.mark.browser

DETAIL_URL = re.compile(r"/patients/[A-Za-z0-9]{14}/(\?.*)?$")


def test_register_a_new_patient_then_correct_their_phone(page: Page, url, sign_in, front_desk):
    # given
    sign_in(front_desk)
    page.goto(url(reverse("patients:create")))
    # when the receptionist fills in what the caller says
    page.get_by_label("Legal first name").fill("Ana")
    page.get_by_label("Legal last name").fill("Alvarez")
    page.get_by_label("Date of birth").fill("1984-03-07")
    page.get_by_label("Administrative sex").select_option(label="Female")
    page.get_by_label("Mobile phone").fill("(202) 555-0143")
    page.get_by_role("button", name="Register patient").click()
    # then the new chart opens
    expect(page).to_have_url(DETAIL_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Alvarez, Ana")
    patient = Patient.objects.get(organization=front_desk.organization, last_name="Alvarez")
    assert (patient.first_name, patient.date_of_birth, patient.phone_mobile) == ("Ana", date(1984, 3, 7), "+12025550143")
    assert patient.mrn
    expect(page.get_by_role("status")).to_contain_text(f"registered with MRN {patient.mrn}")
    expect(page.get_by_text(patient.mrn, exact=True)).to_be_visible()
    assert patient.public_id in page.url

    # when she corrects the mobile number
    page.get_by_role("link", name="Edit details").click()
    expect(page).to_have_url(url(reverse("patients:edit", kwargs={"public_id": patient.public_id})))
    expect(page.get_by_label("Legal first name")).to_have_value("Ana")
    page.get_by_label("Mobile phone").fill("202-555-0199")
    page.get_by_role("button", name="Save changes").click()
    # then
    expect(page).to_have_url(DETAIL_URL)
    patient.refresh_from_db()
    assert patient.phone_mobile == "+12025550199"
    assert patient.first_name == "Ana"


def test_registration_shows_field_errors_without_losing_what_was_typed(page: Page, url, sign_in, front_desk):
    sign_in(front_desk)
    page.goto(url(reverse("patients:create")))
    page.get_by_label("Legal first name").fill("Ana")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_label("Legal last name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Legal first name")).to_have_value("Ana")
    assert not Patient.objects.exists()


def test_typing_alv_in_the_header_box_finds_both_alvarezes_and_opens_ana(page: Page, url, sign_in, front_desk, org):
    # given
    ana = PatientFactory(organization=org, first_name="Ana", last_name="Alvarez", date_of_birth=date(1984, 3, 7))
    PatientFactory(organization=org, first_name="Luis", last_name="Alvarez", date_of_birth=date(1979, 11, 20))
    PatientFactory(organization=org, first_name="Maria", last_name="Chen", date_of_birth=date(1990, 1, 2))
    sign_in(front_desk)
    page.goto(url("/"))
    # when
    page.keyboard.press("/")
    page.keyboard.type("alv")
    # then both Alvarezes are offered, with their birth dates, and nobody else
    suggestions = page.get_by_role("listbox", name="Matching patients")
    people = suggestions.get_by_role("option").filter(has_text="Alvarez")
    expect(people).to_have_count(2)
    expect(people.filter(has_text="Alvarez, Ana")).to_contain_text("03/07/1984")
    expect(people.filter(has_text="Alvarez, Luis")).to_contain_text("11/20/1979")
    expect(suggestions).not_to_contain_text("Chen")
    expect(suggestions.get_by_role("option", name=re.compile("See all matches"))).to_be_visible()
    # when she picks Ana
    people.filter(has_text="Ana").click()
    # then
    expect(page).to_have_url(url(reverse("patients:detail", kwargs={"public_id": ana.public_id})))
    expect(page.get_by_role("heading", level=1)).to_have_text("Alvarez, Ana")


def test_suggestions_work_from_the_keyboard(page: Page, url, sign_in, front_desk, org):
    # given
    luis = PatientFactory(organization=org, first_name="Luis", last_name="Alvarez", date_of_birth=date(1979, 11, 20))
    sign_in(front_desk)
    page.goto(url("/"))
    # when
    page.keyboard.press("/")
    page.keyboard.type("alvarez luis")
    suggestions = page.get_by_role("listbox", name="Matching patients")
    first = suggestions.get_by_role("option").first
    expect(first).to_contain_text("Alvarez, Luis")
    page.keyboard.press("ArrowDown")
    # then
    expect(first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#patient-suggestions")).to_be_empty()
    expect(page.get_by_role("searchbox", name="Find a patient")).to_be_focused()
    # and the way back down still leads to the chart
    page.keyboard.type(" ")
    expect(first).to_contain_text("Alvarez, Luis")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(url(reverse("patients:detail", kwargs={"public_id": luis.public_id})))


def test_file_a_referral_letter_and_open_it(page: Page, url, sign_in, front_desk, org):
    # given
    patient = PatientFactory(organization=org, first_name="Ana", last_name="Alvarez")
    sign_in(front_desk)
    page.goto(url(reverse("patients:detail", kwargs={"public_id": patient.public_id}) + "?tab=documents"))
    # when
    page.get_by_label("File").set_input_files({"name": "referral.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES})
    page.get_by_label("Category").select_option(label="Referral")
    page.get_by_label("Title").fill("Cardiology referral")
    page.get_by_role("button", name="Upload").click()
    # then it is listed in the chart
    expect(page).to_have_url(re.compile(r"\?tab=documents$"))
    link = page.get_by_role("link", name=re.compile("Cardiology referral"))
    expect(link).to_be_visible()
    document = Document.objects.get(patient=patient)
    assert (document.title, document.content_type, document.size) == ("Cardiology referral", "application/pdf", len(PDF_BYTES))
    # when she opens it, the browser gets the file itself, inline, never cached
    href = link.get_attribute("href")
    assert href == reverse("patients:document", kwargs={"public_id": document.public_id})
    response = page.context.request.get(url(href))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "inline" in response.headers["content-disposition"]
    assert "no-store" in response.headers["cache-control"]
    assert response.body() == PDF_BYTES
