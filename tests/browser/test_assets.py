"""Office technology in real Chromium: the office manager adds an ECG machine (a duplicate tag is refused on the
form, naming the field), schedules its calibration, a nurse reports a problem with it, the manager cannot close an
open ticket but resolves it, then records the calibration and sees the next due date move on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.inventory.assets.models import Asset, MaintenanceSchedule, ServiceTicket
from clinicdesk.inventory.assets.tests.factories import AssetFactory

pytestmark = pytest.mark.browser


def test_add_an_asset_open_a_ticket_resolve_it_and_record_maintenance(page: Page, url, sign_in, make_user, org):
    # given the office manager, a nurse, a location and a printer already tagged RFM-1
    priya = make_user(Role.OFFICE_MANAGER, username="priya", first_name="Priya", last_name="Raman")
    nurse = make_user(Role.NURSE, username="jamal", first_name="Jamal", last_name="Reed")
    LocationFactory(organization=org, name="Main Street")
    AssetFactory(organization=org, tag="RFM-1", name="Reception printer")
    today = timezone.localdate()
    sign_in(priya)

    # when Priya adds the ECG machine under a tag already in use, the form says so on the tag
    page.goto(url(reverse("assets:list")))
    page.get_by_role("link", name="Add an asset").click()
    expect(page.get_by_label("Tag")).to_be_focused()
    page.get_by_label("Tag").fill("RFM-1")
    page.get_by_label("Name").fill("ECG machine")
    page.get_by_label("Kind").select_option(label="Medical device")
    page.get_by_label("Location").select_option(label="Main Street")
    page.get_by_label("Purchase cost").fill("6800.00")
    page.get_by_label("Warranty expires").fill((today + timedelta(days=40)).isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_tag-error")).to_contain_text("already has the tag RFM-1")
    # and with a free tag it is recorded
    page.get_by_label("Tag").fill("RFM-2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("RFM-2 ECG machine")
    asset = Asset.objects.get(organization=org, tag="RFM-2")

    # she schedules its calibration every 12 months, first due today
    page.get_by_role("link", name="Schedule maintenance").click()
    page.get_by_label("Name").fill("ECG calibration")
    page.get_by_label("Interval count").fill("12")
    page.get_by_label("Starts on").fill(today.isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#schedules")).to_contain_text("ECG calibration")
    expect(page.locator("#schedules")).to_contain_text("every 12 months")

    # the register finds it among the assets whose cover runs out within 60 days
    page.goto(url(reverse("assets:list")))
    page.get_by_label("Cover expiring").select_option(label="Within 60 days")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#asset-table tbody tr")).to_have_count(1)
    expect(page.locator(f"#asset-{asset.pk}")).to_contain_text("ECG machine")

    # a nurse reports a problem with it
    page.context.clear_cookies()
    sign_in(nurse)
    page.goto(url(reverse("assets:detail", args=[asset.pk])))
    page.get_by_role("link", name="Report a problem").click()
    page.get_by_label("Title").fill("Lead II shows noise")
    page.get_by_label("Description").fill("Noise on lead II with every patient this morning.")
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Opened ticket")
    expect(page.locator("#ticket-status")).to_have_text("Open")
    expect(page.locator("#move-form")).to_have_count(0)  # nurses report, the office manager works the ticket
    ticket = ServiceTicket.objects.get(asset=asset)

    # Priya takes it, comments, and resolves it with a note
    page.context.clear_cookies()
    sign_in(priya)
    page.goto(url(reverse("assets:ticket_list")))
    page.get_by_role("link", name=f"#{ticket.pk} Lead II shows noise").click()
    page.get_by_label("Move to").select_option(label="Resolved")
    page.get_by_role("button", name="Move").click()
    expect(page.locator("#id_note-error")).to_contain_text("Say how it was resolved.")
    page.get_by_label("Comment").fill("Ordered a new lead set from MedTech.")
    page.get_by_role("button", name="Add the comment").click()
    expect(page.locator("#timeline")).to_contain_text("Ordered a new lead set")
    page.get_by_label("Move to").select_option(label="Resolved")
    page.get_by_label("Note").fill("Lead set replaced; trace clean.")
    page.get_by_role("button", name="Move").click()
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    expect(page.locator("#timeline")).to_contain_text("Lead set replaced; trace clean.")

    # and records the calibration from the maintenance due list: the next due date moves a year on
    page.goto(url(reverse("assets:maintenance_due")))
    schedule = MaintenanceSchedule.objects.get(asset=asset)
    page.locator(f"#due-{schedule.pk}").get_by_role("link", name="Record it").click()
    expect(page.get_by_label("Schedule")).to_have_value(str(schedule.pk))
    page.get_by_label("Performed by").fill("MedTech technician")
    page.get_by_label("Cost").fill("180.00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded maintenance of RFM-2")
    schedule.refresh_from_db()
    assert schedule.next_due_on == schedule.due_after(today)
    expect(page.locator(f"#schedule-{schedule.pk} .next-due")).to_have_text(f"{schedule.next_due_on:%b} "
                                                                            f"{schedule.next_due_on.day}, "
                                                                            f"{schedule.next_due_on.year}")


def test_alerts_hand_over_and_retire(page: Page, url, sign_in, make_user, org):
    # given a firewall whose support contract lapses in 20 days, the daily alerts already run, and a new colleague
    from clinicdesk.inventory.assets.services.alerts import asset_alerts_send
    from clinicdesk.staff.tests.factories import StaffMemberFactory

    priya = make_user(Role.OFFICE_MANAGER, username="priya", first_name="Priya", last_name="Raman")
    firewall = AssetFactory(organization=org, tag="NET-1", name="Firewall", kind="network",
                            support_expires=timezone.localdate() + timedelta(days=20))
    asset_alerts_send(organization=org)
    StaffMemberFactory(organization=org, first_name="Ana", last_name="Lopez")
    sign_in(priya)

    # when Priya opens the alerts, she sees the 30-day alert and follows it to the firewall
    page.goto(url(reverse("assets:list")))
    page.get_by_role("navigation", name="Technology pages").get_by_role("link", name="Alerts").click()
    page.get_by_label("Subject").select_option(label="Support contract")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#alert-table tbody tr")).to_have_count(1)
    expect(page.locator("#alert-table")).to_contain_text("Support contract of NET-1 Firewall expires")
    page.get_by_role("link", name="NET-1").click()

    # she hands it to Ana: the history shows who has it from today
    page.get_by_role("link", name="Hand over").click()
    page.get_by_label("Assigned to").select_option(label="Ana Lopez")
    page.get_by_label("Note").fill("Ana looks after the network")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#assigned-to")).to_have_text("Ana Lopez")
    expect(page.locator("#history")).to_contain_text("Ana looks after the network")

    # and retires it: without the date the form names the field, with it the status changes
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Status").select_option(label="Retired")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_retired_on-error")).to_contain_text("needs the date it left service")
    page.get_by_label("Retired or disposed on").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#asset-status")).to_have_text("Retired")
    firewall.refresh_from_db()
    assert firewall.retired_on == timezone.localdate()
