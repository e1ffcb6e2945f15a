import shutil
import subprocess  # noqa: S404  (pdftotext on the PDF the test made)
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.inventory.assets.choices import AssetKind, AssetStatus, TicketStatus
from clinicdesk.inventory.assets.models import Asset, AssetAlert, ServiceTicket
from clinicdesk.ledger.models import Vendor
from clinicdesk.staff.tests.factories import StaffMemberFactory

from .factories import AssetFactory, ScheduleFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(queries)


def _full_asset(org, n: int) -> Asset:
    vendor = Vendor.objects.get_or_create(organization=org, name="Valley IT")[0]
    return AssetFactory(organization=org, location=LocationFactory(organization=org), vendor=vendor,
                        assigned_to=StaffMemberFactory(organization=org), warranty_expires=date(2027, 1, n + 1))


@pytest.mark.parametrize("name", ["assets:list", "assets:ticket_list", "assets:maintenance_due", "assets:alerts"])
@pytest.mark.parametrize("csv", [False, True])
def test_list_query_count_does_not_grow_with_rows(client_as, manager, org, name, csv):
    client = client_as(manager)
    url = reverse(name) + ("?format=csv" if csv else "")

    def add(count: int) -> None:
        for _ in range(count):
            asset = _full_asset(org, Asset.objects.count() % 27)
            schedule = ScheduleFactory(asset=asset, next_due_on=timezone.localdate() - timedelta(days=1))
            TicketFactory(asset=asset, assigned_to=manager, reported_by=manager, vendor=asset.vendor)
            AssetAlert.objects.create(organization=org, asset=asset, subject="maintenance", schedule=schedule,
                                      key=f"maintenance:{schedule.pk}", due_on=schedule.next_due_on, threshold_days=0,
                                      raised_on=timezone.localdate())

    add(2)
    _queries(client, url)  # the first request of a session also touches the session
    few = _queries(client, url)
    add(8)
    assert _queries(client, url) == few


def test_register_filters_by_kind_status_location_and_expiring(client_as, manager, org):
    location = LocationFactory(organization=org)
    soon = AssetFactory(organization=org, location=location, warranty_expires=timezone.localdate() + timedelta(days=20))
    AssetFactory(organization=org, location=location, warranty_expires=timezone.localdate() + timedelta(days=200))
    printer = AssetFactory(organization=org, kind=AssetKind.PRINTER, status=AssetStatus.IN_REPAIR)
    client = client_as(manager)
    body = client.get(reverse("assets:list"), {"expiring": "30", "location": location.pk}).content.decode()
    assert f'id="asset-{soon.pk}"' in body and body.count('<tr id="asset-') == 1
    body = client.get(reverse("assets:list"), {"kind": "printer", "status": "in_repair"}).content.decode()
    assert f'id="asset-{printer.pk}"' in body and body.count('<tr id="asset-') == 1
    # a filter value that is not a choice does not break the page
    assert client.get(reverse("assets:list"), {"kind": "toaster", "expiring": "x"}).status_code == 200


def test_register_csv_has_every_match(client_as, manager, org):
    AssetFactory(organization=org, tag="=CMD()", name="Front PC")
    response = client_as(manager).get(reverse("assets:list"), {"format": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv") and "'=CMD()" in body and "Front PC" in body


def test_create_form_names_the_bad_fields_and_changes_nothing(client_as, manager, org):
    AssetFactory(organization=org, tag="IT-1")
    response = client_as(manager).post(reverse("assets:create"), {
        "tag": "IT-1", "name": "PC", "kind": "computer", "status": "retired", "purchase_cost": "-5"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"purchase_cost"} <= set(errors)
    response = client_as(manager).post(reverse("assets:create"), {"tag": "IT-1", "name": "PC", "kind": "computer",
                                                                  "status": "in_use"})
    assert response.status_code == 400 and "tag" in response.context["form"].errors
    assert Asset.objects.filter(organization=org).count() == 1


def test_create_then_edit_an_asset(client_as, manager, org):
    client = client_as(manager)
    response = client.post(reverse("assets:create"), {"tag": "IT-9", "name": "Exam PC", "kind": "computer",
                                                      "status": "in_use", "purchase_cost": "899.00"})
    asset = Asset.objects.get(organization=org, tag="IT-9")
    assert response.status_code == 302 and response["Location"] == reverse("assets:detail", args=[asset.pk])
    response = client.post(reverse("assets:edit", args=[asset.pk]), {
        "tag": "IT-9", "name": "Exam PC", "kind": "computer", "status": "retired", "retired_on": "2026-11-01"})
    asset.refresh_from_db()
    assert response.status_code == 302 and asset.status == AssetStatus.RETIRED
    page = client.get(reverse("assets:detail", args=[asset.pk])).content.decode()
    assert "Exam PC" in page and "Who had it when" in page


def test_front_desk_reports_a_problem_but_cannot_move_the_ticket(client_as, front_desk, org):
    asset = AssetFactory(organization=org)
    client = client_as(front_desk)
    response = client.post(reverse("assets:ticket_create", args=[asset.pk]), {"title": "Screen flickers",
                                                                               "priority": "normal"})
    ticket = ServiceTicket.objects.get(asset=asset)
    assert response.status_code == 302 and ticket.reported_by == front_desk
    assert client.post(reverse("assets:ticket_move", args=[ticket.pk]), {"to_status": "resolved"}).status_code == 403
    assert client.get(reverse("assets:alerts")).status_code == 403


def test_an_illegal_move_is_refused_on_the_form(client_as, manager, org):
    ticket = TicketFactory(asset__organization=org)
    response = client_as(manager).post(reverse("assets:ticket_move", args=[ticket.pk]), {"to_status": "closed"})
    assert response.status_code == 400
    assert "to_status" in response.context["move_form"].errors
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_comment_and_resolve_through_the_pages(client_as, manager, org):
    ticket = TicketFactory(asset__organization=org)
    client = client_as(manager)
    assert client.post(reverse("assets:ticket_detail", args=[ticket.pk]), {"body": ""}).status_code == 400
    assert client.post(reverse("assets:ticket_detail", args=[ticket.pk]), {"body": "Vendor called"}).status_code == 302
    response = client.post(reverse("assets:ticket_move", args=[ticket.pk]), {"to_status": "resolved", "note": "Fixed"})
    ticket.refresh_from_db()
    assert response.status_code == 302 and ticket.status == TicketStatus.RESOLVED
    assert "Vendor called" in client.get(reverse("assets:ticket_detail", args=[ticket.pk])).content.decode()


def test_record_maintenance_moves_the_due_date(client_as, manager, org):
    schedule = ScheduleFactory(asset__organization=org, interval_count=6)
    response = client_as(manager).post(reverse("assets:maintenance_create", args=[schedule.asset_id]), {
        "schedule": schedule.pk, "performed_on": "2026-11-02", "performed_by": "BioTech", "cost": "120.00"})
    schedule.refresh_from_db()
    assert response.status_code == 302 and schedule.next_due_on == date(2027, 5, 2)
    response = client_as(manager).post(reverse("assets:maintenance_create", args=[schedule.asset_id]), {
        "performed_on": "not a date", "performed_by": ""})
    assert response.status_code == 400 and {"performed_on", "performed_by"} <= set(response.context["form"].errors)


def test_assign_and_schedule_pages(client_as, manager, org):
    asset = AssetFactory(organization=org)
    member = StaffMemberFactory(organization=org, first_name="Ana", last_name="Lopez")
    client = client_as(manager)
    assert client.post(reverse("assets:assign", args=[asset.pk]), {"staff": member.pk}).status_code == 302
    asset.refresh_from_db()
    assert asset.assigned_to == member
    response = client.post(reverse("assets:schedule_create", args=[asset.pk]), {
        "name": "Battery check", "interval_count": "0", "interval_unit": "days", "starts_on": "2026-12-01"})
    assert response.status_code == 400 and "interval_count" in response.context["form"].errors


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_register_pdf(client_as, manager, org):
    AssetFactory(organization=org, name="Reception printer")
    response = client_as(manager).get(reverse("assets:register_pdf"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True,  # noqa: S603, S607
                          check=True).stdout.decode()
    assert "Asset register" in text and "Reception printer" in text
    assert "Page 1 of 1" in text  # the page footer comes from the stylesheet


def test_another_practices_asset_is_not_found(client_as, manager, other_org):
    asset = AssetFactory(organization=other_org)
    assert client_as(manager).get(reverse("assets:detail", args=[asset.pk])).status_code == 404


def test_edit_a_ticket_assigns_it_and_refuses_a_bad_priority(client_as, manager, org):
    ticket = TicketFactory(asset__organization=org)
    client = client_as(manager)
    response = client.post(reverse("assets:ticket_edit", args=[ticket.pk]), {"priority": "whenever"})
    assert response.status_code == 400 and "priority" in response.context["form"].errors
    response = client.post(reverse("assets:ticket_edit", args=[ticket.pk]), {
        "priority": "urgent", "assigned_to": manager.pk, "vendor_reference": "CASE-77"})
    ticket.refresh_from_db()
    assert response.status_code == 302
    assert (ticket.priority, ticket.assigned_to, ticket.vendor_reference) == ("urgent", manager, "CASE-77")
