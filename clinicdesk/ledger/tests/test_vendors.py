"""Vendors: the e-mail address their purchase orders go to, kept through the service and the vendor pages; a bad
address or a name another vendor has is named and nothing changes; another practice's vendor is not found; the list
takes the same queries for more vendors; in real Chromium, from the keyboard."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.bills import vendor_for
from clinicdesk.ledger.models import Vendor
from clinicdesk.ledger.vendors import vendor_save


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


@pytest.fixture
def henry(org):
    return vendor_for(organization=org, name="Henry Supply")


# --- the service ---------------------------------------------------------------------------------------------------


def test_a_vendors_email_is_saved_and_the_change_audited(org, manager, henry):
    vendor_save(organization=org, actor=manager, vendor=henry, name="Henry  Supply", email=" orders@henry.example ")
    henry.refresh_from_db()
    assert (henry.name, henry.email) == ("Henry Supply", "orders@henry.example")
    event = AuditEvent.objects.get(action="ledger.vendor_changed")
    assert event.actor_id == manager.pk and event.summary == "Vendor Henry Supply: email changed"
    # saving it unchanged writes nothing
    vendor_save(organization=org, actor=manager, vendor=henry, name="Henry Supply", email="orders@henry.example")
    assert AuditEvent.objects.filter(action__startswith="ledger.vendor_").count() == 1


@pytest.mark.parametrize(("name", "email", "field"), [
    ("Henry Supply", "not an address", "email"),
    ("Henry Supply", "orders@", "email"),
    ("", "orders@henry.example", "name"),
    ("staples", "orders@henry.example", "name"),
    ("x" * 121, "", "name"),
])
def test_a_bad_email_or_name_is_named_and_nothing_changes(org, manager, henry, name, email, field):
    vendor_for(organization=org, name="Staples")
    with pytest.raises(ValidationError) as caught:
        vendor_save(organization=org, actor=manager, vendor=henry, name=name, email=email)
    assert list(caught.value.message_dict) == [field]
    henry.refresh_from_db()
    assert (henry.name, henry.email) == ("Henry Supply", "")
    assert not AuditEvent.objects.filter(action__startswith="ledger.vendor_").exists()


def test_another_practices_vendor_is_refused(org, other_org, manager):
    theirs = vendor_for(organization=other_org, name="Henry Supply")
    with pytest.raises(ValidationError) as caught:
        vendor_save(organization=org, actor=manager, vendor=theirs, name="Henry Supply", email="a@b.example")
    assert "vendor" in caught.value.message_dict


# --- the pages -----------------------------------------------------------------------------------------------------


def test_the_vendor_form_saves_the_email_and_shows_it_in_the_list(client_as, org, manager, henry):
    client = client_as(manager)
    url = reverse("ledger:vendor_edit", args=[henry.pk])
    page = client.get(url).content.decode()
    assert 'name="email"' in page and "Henry Supply" in page
    response = client.post(url, {"name": "Henry Supply", "email": "orders@henry.example"})
    assert response.status_code == 302 and response["Location"] == reverse("ledger:vendors")
    henry.refresh_from_db()
    assert henry.email == "orders@henry.example"
    listed = client.get(reverse("ledger:vendors")).content.decode()
    assert "orders@henry.example" in listed and reverse("ledger:vendor_edit", args=[henry.pk]) in listed


def test_a_bad_email_on_the_form_is_named_on_its_field_and_nothing_changes(client_as, org, manager, henry):
    response = client_as(manager).post(reverse("ledger:vendor_edit", args=[henry.pk]),
                                       {"name": "Henry Supply", "email": "orders at henry"})
    assert response.status_code == 400
    assert response.context["form"].errors == {"email": ["Enter a valid email address."]}
    henry.refresh_from_db()
    assert henry.email == ""


def test_a_vendor_is_added_and_a_taken_name_is_named(client_as, org, manager, henry):
    client = client_as(manager)
    response = client.post(reverse("ledger:vendor_create"), {"name": "Staples", "email": "orders@staples.example"})
    assert response.status_code == 302
    assert Vendor.objects.get(organization=org, name="Staples").email == "orders@staples.example"
    response = client.post(reverse("ledger:vendor_create"), {"name": "HENRY supply", "email": ""})
    assert response.status_code == 400
    assert response.context["form"].errors == {"name": ["Another vendor is called HENRY supply."]}
    assert Vendor.objects.filter(organization=org).count() == 2


def test_who_may_see_and_change_vendors(client_as, org, other_org, make_user, henry):
    theirs = vendor_for(organization=other_org, name="Elsewhere Supply")
    manager = make_user(Role.OFFICE_MANAGER, username="om")
    assert client_as(manager).get(reverse("ledger:vendor_edit", args=[theirs.pk])).status_code == 404
    biller = client_as(make_user(Role.BILLER, username="devon"))
    assert biller.get(reverse("ledger:vendors")).status_code == 200
    assert biller.get(reverse("ledger:vendor_edit", args=[henry.pk])).status_code == 403
    assert biller.post(reverse("ledger:vendor_create"), {"name": "Sneaky"}).status_code == 403
    nurse = client_as(make_user(Role.NURSE, username="nurse"))
    assert nurse.get(reverse("ledger:vendors")).status_code == 403
    assert not Vendor.objects.filter(name="Sneaky").exists()


def test_the_vendor_list_takes_the_same_queries_for_more_vendors(client_as, org, manager, henry):
    client = client_as(manager)
    url = reverse("ledger:vendors")

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(4):
        vendor_for(organization=org, name=f"Vendor {n}", email=f"orders{n}@vendor.example")
    assert count() == few


# --- in real Chromium ----------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_office_manager_gives_a_vendor_its_email_from_the_keyboard(page: Page, url, sign_in, make_user, org):
    vendor_for(organization=org, name="Henry Supply")
    sign_in(make_user(Role.OFFICE_MANAGER, username="priya-browser"))
    page.goto(url(reverse("ledger:bills")))
    page.get_by_role("link", name="Vendors", exact=True).first.click()
    page.get_by_role("link", name="Edit Henry Supply").click()
    page.get_by_label("E-mail").fill("orders at henry")
    page.get_by_label("E-mail").press("Enter")
    expect(page.locator("#vendor-form")).to_contain_text("Enter a valid email address.")
    page.get_by_label("E-mail").fill("orders@henry.example")
    page.get_by_label("E-mail").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Saved vendor Henry Supply.")
    expect(page.locator("#vendors")).to_contain_text("orders@henry.example")
