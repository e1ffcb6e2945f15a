"""What every signed-in page shares: the 403 page for what a role may not open, and the search shortcut."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import AuditOutcome
from clinicdesk.core.models import AuditEvent

pytestmark = pytest.mark.browser


def test_front_desk_opening_the_audit_log_gets_the_403_page_and_the_denial_is_audited(page: Page, url, sign_in, front_desk):
    # given
    sign_in(front_desk)
    audit_log = reverse("core:audit_log")
    # when
    response = page.goto(url(audit_log))
    # then
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_text("You do not have permission to open this page")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log")).to_have_count(0)
    denial = AuditEvent.objects.get(action="access.denied", actor=front_desk)
    assert denial.outcome == AuditOutcome.DENIED
    assert audit_log in denial.summary
    assert denial.path == audit_log


def test_slash_focuses_the_patient_search_box(page: Page, url, sign_in, front_desk):
    # given
    sign_in(front_desk)
    page.goto(url("/"))
    box = page.get_by_role("searchbox", name="Find a patient")
    expect(box).not_to_be_focused()
    # when
    page.keyboard.press("/")
    # then the box has the focus and the slash was not typed into it
    expect(box).to_be_focused()
    expect(box).to_have_value("")
    # and a slash typed inside the box is just a character
    page.keyboard.type("1/2")
    expect(box).to_have_value("1/2")


def test_ctrl_k_also_focuses_the_search_box(page: Page, url, sign_in, front_desk):
    sign_in(front_desk)
    page.goto(url("/"))
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("Control+k")
    expect(page.get_by_role("searchbox", name="Find a patient")).to_be_focused()


def test_the_auditor_sees_no_patient_search_at_all(page: Page, url, sign_in, auditor):
    sign_in(auditor)
    page.goto(url("/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good day")
    expect(page.get_by_role("searchbox")).to_have_count(0)
