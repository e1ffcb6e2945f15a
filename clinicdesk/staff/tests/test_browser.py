"""In real Chromium: Scenario 10 (Priya applies the "Medical assistant" checklist to a new hire starting Monday)
and every staff page: the list with its filters, the record form's refusals, credentials and the compliance view,
the onboarding board, courses, assignments, training compliance with its chart, My training and offboarding."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.staff.choices import ChecklistCategory, CredentialKind, StaffStatus
from clinicdesk.staff.models import ChecklistItem, OnboardingTask, StaffMember, TrainingAssignment
from clinicdesk.staff.tests.factories import (
    ChecklistTemplateFactory,
    CourseFactory,
    CredentialFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def priya(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya", first_name="Priya", last_name="Raman")


def _medical_assistant(org):
    template = ChecklistTemplateFactory(organization=org, name="Medical assistant", role=Role.NURSE)
    hipaa = CourseFactory(organization=org, code="hipaa", name="HIPAA privacy and security", renewal_months=12)
    for n, (title, category, owner, offset, course) in enumerate([
        ("Create the sign-in account", ChecklistCategory.ACCOUNT, Role.ADMINISTRATOR, -3, None),
        ("Order the photo badge", ChecklistCategory.BADGE, Role.OFFICE_MANAGER, 0, None),
        ("HIPAA privacy and security training", ChecklistCategory.TRAINING, "", 7, hipaa),
        ("Sign the confidentiality policy", ChecklistCategory.POLICY, "", 1, None),
        ("Sign the code of conduct", ChecklistCategory.POLICY, "", 1, None),
    ]):
        ChecklistItem.objects.create(template=template, position=n, title=title, category=category, owner_role=owner,
                                     due_offset_days=offset, course=course)
    return template


def test_scenario_10_priya_applies_the_medical_assistant_checklist(page: Page, url, sign_in, priya, administrator,
                                                                   org):
    # given Keisha, a medical assistant who starts next Monday, and the practice's checklist
    _medical_assistant(org)
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    keisha = StaffMemberFactory(organization=org, first_name="Keisha", last_name="Moore", job_title="Medical assistant",
                                role=Role.NURSE, status=StaffStatus.ONBOARDING, hire_date=monday)
    sign_in(priya)

    # when Priya looks the checklist over
    page.goto(url(reverse("staff:checklist_list")))
    checklist = page.locator("section.checklist").filter(has_text="Medical assistant")
    expect(checklist.locator("tbody tr")).to_have_count(5)
    expect(checklist).to_contain_text("HIPAA privacy and security")

    # and finds Keisha in the staff list and opens her onboarding tab
    page.goto(url(reverse("staff:list")))
    page.get_by_label("Name, title, e-mail or NPI").fill("keisha")
    page.get_by_label("Name, title, e-mail or NPI").press("Enter")
    page.get_by_role("link", name="Moore, Keisha").click()
    page.get_by_role("link", name="Onboarding", exact=True).last.click()
    expect(page.get_by_text("No onboarding checklist applied yet.")).to_be_visible()

    # and applies the "Medical assistant" checklist from Monday, from the keyboard
    page.get_by_label("Checklist", exact=True).select_option(label="Medical assistant")
    page.get_by_label("Start date").fill(monday.isoformat())
    page.get_by_label("Start date").press("Enter")

    # then accounts, HIPAA training and policy sign-offs are assigned with owners and due dates
    expect(page.get_by_role("status")).to_contain_text("Applied the Medical assistant checklist to Keisha Moore: 5 tasks")
    rows = page.locator("table.onboarding-tasks tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_contain_text("Create the sign-in account")
    expect(rows.nth(0)).to_contain_text(administrator.get_full_name())
    expect(rows.nth(0)).to_contain_text(f"{monday - timedelta(days=3):%a %b} {(monday - timedelta(days=3)).day}")
    expect(rows.nth(2)).to_contain_text("HIPAA privacy and security training")
    expect(rows.nth(3)).to_contain_text("Sign the confidentiality policy")
    hipaa = TrainingAssignment.objects.get(staff=keisha)
    assert hipaa.due_date == monday + timedelta(days=7)

    # and the training tab shows HIPAA due a week after she starts
    page.get_by_role("link", name="Training", exact=True).last.click()
    expect(page.locator("#assignment-table tbody tr")).to_contain_text("HIPAA privacy and security")

    # when Priya ticks off the badge, the onboarding board shows the progress
    page.get_by_role("link", name="Onboarding", exact=True).last.click()
    page.locator("table.onboarding-tasks tbody tr").nth(1).get_by_role("button", name="Mark done").click()
    expect(page.locator("table.onboarding-tasks tbody tr").nth(1)).to_have_attribute("data-status", "done")
    page.goto(url(reverse("staff:onboarding_board")))
    card = page.locator("section.new-hire").filter(has_text="Keisha Moore")
    expect(card).to_contain_text("1 of 5 tasks done")
    expect(card.locator("progress")).to_have_attribute("value", "20")
    assert OnboardingTask.objects.filter(plan__staff=keisha, status="done").count() == 1


def test_a_bad_npi_is_refused_on_its_field_and_nothing_is_saved(page: Page, url, sign_in, priya):
    sign_in(priya)
    page.goto(url(reverse("staff:create")))
    expect(page.get_by_label("First name")).to_be_focused()
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Lee")
    page.get_by_label("NPI").fill("1234567890")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_npi-error")).to_contain_text("check digit is wrong")
    assert not StaffMember.objects.exists()
    page.get_by_label("NPI").fill("1234567893")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ana Lee")
    page.get_by_role("link", name="Record").click()
    expect(page.locator("dl.facts")).to_contain_text("1234567893")


def test_a_lapsed_licence_shows_on_the_compliance_view(page: Page, url, sign_in, priya, org):
    nursing = DepartmentFactory(organization=org, name="Nursing")
    nurse = StaffMemberFactory(organization=org, first_name="Jamal", last_name="Brooks", department=nursing)
    sign_in(priya)
    # when Priya records his licence, which expired last month
    page.goto(url(reverse("staff:credential_create", args=[nurse.pk])))
    page.get_by_label("Kind").select_option(label="State licence")
    page.get_by_label("Name").fill("RN licence")
    page.get_by_label("State").fill("NY")
    page.get_by_label("Number").fill("123")
    page.get_by_label("Expires on").fill((timezone.localdate() - timedelta(days=20)).isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_number-error")).to_contain_text("NY licence number is 6 digits")
    page.get_by_label("Number").fill("123456")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#credential-table tbody tr").first).to_have_attribute("data-state", "expired")
    # then the compliance view lists it under Nursing, with a CSV
    page.goto(url(reverse("staff:compliance")))
    expect(page.locator("#expired-count")).to_have_text("1 expired")
    section = page.locator("section.department").filter(has_text="Nursing")
    expect(section).to_contain_text("Jamal Brooks")
    expect(section).to_contain_text("RN licence NY")
    with page.expect_download() as download:
        page.locator("#compliance-csv").click()
    assert download.value.suggested_filename == "credential-compliance.csv"


def test_staff_list_filters_by_skill_and_exports(page: Page, url, sign_in, priya, org):
    from clinicdesk.staff.models import Skill

    charge = Skill.objects.create(organization=org, code="charge", name="Charge nurse")
    StaffMemberFactory(organization=org, first_name="Ada", last_name="Charge").skills.add(charge)
    StaffMemberFactory(organization=org, first_name="Ben", last_name="Plain")
    sign_in(priya)
    page.goto(url(reverse("staff:list")))
    expect(page.locator("#staff-table tbody tr")).to_have_count(2)
    page.get_by_label("Skill").select_option(label="Charge nurse")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#staff-table tbody tr")).to_have_count(1)
    expect(page.locator("#staff-table")).to_contain_text("Charge, Ada")
    with page.expect_download() as download:
        page.locator("#staff-csv").click()
    assert download.value.suggested_filename == "staff.csv"


def test_courses_assignments_completion_and_the_compliance_chart(page: Page, url, sign_in, priya, org):
    billing = DepartmentFactory(organization=org, name="Billing")
    devon = StaffMemberFactory(organization=org, first_name="Devon", last_name="Reyes", department=billing)
    sign_in(priya)
    # a new annual course
    page.goto(url(reverse("staff:course_list")))
    page.get_by_role("link", name="New course").click()
    page.get_by_label("Code").fill("osha")
    page.get_by_label("Name").fill("OSHA bloodborne pathogens")
    page.get_by_label("Renewal months").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#course-table")).to_contain_text("Every 12 months")
    # assigned to everyone in Billing
    page.get_by_role("link", name="Assign", exact=True).click()
    page.get_by_label("Or everyone in").select_option(label="Billing")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("Assigned OSHA bloodborne pathogens to 1 staff member(s).")
    row = page.locator("#assignment-table tbody tr").filter(has_text="Devon Reyes")
    # completed with a certificate number
    row.get_by_role("link", name="Record completion").click()
    page.get_by_role("button", name="Record completion").click()
    expect(page.locator(".error").first).to_contain_text("Attach the certificate")
    page.get_by_label("Certificate number or note").fill("OSHA-5512")
    page.get_by_role("button", name="Record completion").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded OSHA bloodborne pathogens as completed.")
    assert TrainingAssignment.objects.filter(staff=devon, status="assigned").get().due_date.year == \
        timezone.localdate().year + 1
    # the compliance chart draws Billing at 100%
    page.goto(url(reverse("staff:training_compliance")))
    expect(page.locator("#training-table")).to_contain_text("Billing")
    expect(page.locator("#training-table")).to_contain_text("100.0%")
    page.wait_for_function("() => document.getElementById('training-compliance-chart').chart !== undefined")
    labels = page.evaluate("() => document.getElementById('training-compliance-chart').chart.data.labels")
    assert labels == ["Billing"]
    page.goto(url(reverse("staff:assignment_list")))
    page.get_by_label("Status").select_option(label="Completed")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#assignment-table tbody tr")).to_have_count(1)


def test_my_training_lets_a_nurse_record_her_own_course(page: Page, url, sign_in, make_user, org):
    nurse = make_user(Role.NURSE, username="rosa", first_name="Rosa", last_name="Rivera")
    me = StaffMemberFactory(organization=org, user=nurse, first_name="Rosa", last_name="Rivera")
    CredentialFactory(staff=me, kind=CredentialKind.CPR_BLS, name="BLS", expires_on=timezone.localdate() + timedelta(days=40))
    TrainingAssignment.objects.create(organization=org, staff=me, course=CourseFactory(organization=org, name="Fire safety",
                                      renewal_months=None), due_date=timezone.localdate() + timedelta(days=5))
    sign_in(nurse)
    page.goto(url("/"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My training").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My training")
    expect(page.locator("#credential-table")).to_contain_text("BLS")
    page.get_by_role("link", name="Record completion").click()
    page.get_by_label("Certificate number or note").fill("Fire-22")
    page.get_by_role("button", name="Record completion").click()
    expect(page.locator("#assignment-table tbody tr").first).to_have_attribute("data-status", "completed")


def test_offboarding_turns_sign_in_off_at_once(page: Page, url, sign_in, priya, make_user, org):
    leaving = make_user(Role.FRONT_DESK, username="leaving", first_name="Lee", last_name="Gone")
    member = StaffMemberFactory(organization=org, user=leaving, first_name="Lee", last_name="Gone")
    sign_in(priya)
    page.goto(url(reverse("staff:detail", args=[member.pk])))
    page.get_by_role("link", name="Offboard").click()
    page.get_by_label("Reason").fill("Moved away")
    page.get_by_role("button", name="Offboard now").click()
    expect(page.get_by_role("status")).to_contain_text("Lee Gone is offboarded")
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Offboarded"))
    leaving.refresh_from_db()
    assert not leaving.is_active
