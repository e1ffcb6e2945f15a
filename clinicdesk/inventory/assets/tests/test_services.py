from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinicdesk.communications.models import StaffTask
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.inventory.assets.choices import AssetKind, AssetStatus, TicketStatus
from clinicdesk.inventory.assets.models import AssetAlert, AssetAssignment, TicketEntry
from clinicdesk.inventory.assets.services.alerts import asset_alerts_send
from clinicdesk.inventory.assets.services.assets import asset_assign, asset_save
from clinicdesk.inventory.assets.services.maintenance import maintenance_record, schedule_save
from clinicdesk.inventory.assets.services.tickets import ticket_comment, ticket_move, ticket_open
from clinicdesk.ledger.models import Vendor
from clinicdesk.staff.tests.factories import StaffMemberFactory

from .factories import AssetFactory, ScheduleFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


def test_asset_save_records_an_asset_and_opens_its_history(manager, org):
    # given a location and a colleague of the practice
    location, member = LocationFactory(organization=org), StaffMemberFactory(organization=org)
    # when
    asset = asset_save(actor=manager, data={"tag": " IT-0001 ", "name": "Front desk PC", "kind": AssetKind.COMPUTER,
                                            "location": location, "assigned_to": member,
                                            "purchase_cost": Decimal("899.00")})
    # then
    assert asset.tag == "IT-0001" and asset.organization_id == org.pk
    row = AssetAssignment.objects.get(asset=asset)
    assert (row.staff, row.location, row.note) == (member, location, "Recorded")
    assert AuditEvent.objects.filter(action="asset.recorded", target_id=str(asset.pk)).exists()


def test_asset_tag_is_unique_per_practice_and_the_error_names_the_tag(manager, org, other_org):
    AssetFactory(organization=other_org, tag="IT-1")
    asset_save(actor=manager, data={"tag": "IT-1", "name": "PC", "kind": AssetKind.COMPUTER})
    with pytest.raises(ValidationError) as exc:
        asset_save(actor=manager, data={"tag": "IT-1", "name": "Other PC", "kind": AssetKind.COMPUTER})
    assert "tag" in exc.value.message_dict


def test_a_retired_asset_needs_its_date_and_seats_are_for_licences_only(manager):
    with pytest.raises(ValidationError) as exc:
        asset_save(actor=manager, data={"tag": "IT-2", "name": "Old PC", "kind": AssetKind.COMPUTER,
                                        "status": AssetStatus.RETIRED, "licence_seats": 5})
    assert {"retired_on", "licence_seats"} <= set(exc.value.message_dict)


def test_asset_save_refuses_another_practices_location(manager, other_org):
    with pytest.raises(ValidationError) as exc:
        asset_save(actor=manager, data={"tag": "IT-3", "name": "PC", "kind": AssetKind.COMPUTER,
                                        "location": LocationFactory(organization=other_org)})
    assert "location" in exc.value.message_dict


def test_assignment_history_is_append_only_and_reads_who_had_it_when(manager, org):
    # given an asset that passes from Ana to Ben
    asset = AssetFactory(organization=org, status=AssetStatus.IN_STOCK)
    ana, ben = StaffMemberFactory(organization=org), StaffMemberFactory(organization=org)
    first = asset_assign(actor=manager, asset=asset, staff=ana, starts_on=date(2026, 3, 1))
    asset_assign(actor=manager, asset=asset, staff=ben, starts_on=date(2026, 6, 1), note="Ana moved on")
    # then the asset is in use with Ben, both rows are kept, and the old row cannot be edited
    asset.refresh_from_db()
    assert asset.assigned_to == ben and asset.status == AssetStatus.IN_USE
    assert list(asset.assignments.values_list("staff", flat=True)) == [ben.pk, ana.pk]
    first.note = "rewritten"
    with pytest.raises(ValidationError):
        first.save()
    # and a holder that starts before the last one is refused, naming the date
    with pytest.raises(ValidationError) as exc:
        asset_assign(actor=manager, asset=asset, staff=ana, starts_on=date(2026, 5, 1))
    assert "starts_on" in exc.value.message_dict
    assert AuditEvent.objects.filter(action="asset.assigned").count() == 2


def test_a_disposed_asset_cannot_be_handed_over(manager, org):
    asset = AssetFactory(organization=org, status=AssetStatus.DISPOSED, retired_on=date(2026, 1, 5))
    with pytest.raises(ValidationError) as exc:
        asset_assign(actor=manager, asset=asset, staff=StaffMemberFactory(organization=org))
    assert "assigned_to" in exc.value.message_dict


def test_next_due_follows_the_latest_maintenance_done(manager, org):
    # given an ECG calibrated every 12 months, first due Feb 1
    asset = AssetFactory(organization=org, kind=AssetKind.MEDICAL_DEVICE)
    schedule = schedule_save(actor=manager, asset=asset, data={
        "name": "Calibration", "interval_count": 12, "interval_unit": "months", "starts_on": date(2026, 2, 1)})
    assert schedule.next_due_on == date(2026, 2, 1)
    # when it is calibrated on Mar 10
    maintenance_record(actor=manager, asset=asset, data={"schedule": schedule, "performed_on": date(2026, 3, 10),
                                                         "performed_by": "BioTech", "cost": Decimal("180.00")})
    schedule.refresh_from_db()
    assert (schedule.last_done_on, schedule.next_due_on) == (date(2026, 3, 10), date(2027, 3, 10))
    # and an older record filed late does not move it back
    maintenance_record(actor=manager, asset=asset, data={"schedule": schedule, "performed_on": date(2026, 1, 2),
                                                         "performed_by": "BioTech"})
    schedule.refresh_from_db()
    assert schedule.next_due_on == date(2027, 3, 10)


def test_maintenance_in_days_and_a_schedule_of_another_asset_is_refused(manager, org):
    schedule = ScheduleFactory(asset__organization=org, interval_count=90, interval_unit="days")
    other = AssetFactory(organization=org)
    with pytest.raises(ValidationError) as exc:
        maintenance_record(actor=manager, asset=other, data={"schedule": schedule, "performed_on": date(2026, 1, 1),
                                                             "performed_by": "Me"})
    assert "schedule" in exc.value.message_dict
    maintenance_record(actor=manager, asset=schedule.asset, data={
        "schedule": schedule, "performed_on": date(2026, 1, 1), "performed_by": "Me"})
    schedule.refresh_from_db()
    assert schedule.next_due_on == date(2026, 4, 1)


def test_negative_maintenance_cost_is_refused_naming_the_field(manager, org):
    with pytest.raises(ValidationError) as exc:
        maintenance_record(actor=manager, asset=AssetFactory(organization=org), data={
            "performed_on": date(2026, 1, 1), "performed_by": "Me", "cost": Decimal("-1")})
    assert "cost" in exc.value.message_dict


def test_ticket_moves_through_its_statuses_and_refuses_illegal_moves(manager, org):
    # given a printer in repair with a ticket
    asset = AssetFactory(organization=org, kind=AssetKind.PRINTER, status=AssetStatus.IN_REPAIR)
    ticket = ticket_open(actor=manager, asset=asset, data={"title": "Paper jam", "description": "Tray 2"})
    # closing an open ticket is not allowed, and the message names both statuses
    with pytest.raises(ValidationError) as exc:
        ticket_move(actor=manager, ticket=ticket, to_status=TicketStatus.CLOSED)
    assert "open ticket cannot be moved to closed" in exc.value.message_dict["to_status"][0]
    # resolving needs a note
    with pytest.raises(ValidationError) as exc:
        ticket_move(actor=manager, ticket=ticket, to_status=TicketStatus.RESOLVED)
    assert "note" in exc.value.message_dict
    ticket = ticket_move(actor=manager, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)
    ticket = ticket_move(actor=manager, ticket=ticket, to_status=TicketStatus.RESOLVED, note="Roller replaced")
    asset.refresh_from_db()
    assert ticket.resolved_at is not None and asset.status == AssetStatus.IN_USE
    ticket = ticket_move(actor=manager, ticket=ticket, to_status=TicketStatus.CLOSED)
    with pytest.raises(ValidationError) as exc:
        ticket_move(actor=manager, ticket=ticket, to_status=TicketStatus.OPEN, note="again")
    assert "final" in exc.value.message_dict["to_status"][0]
    with pytest.raises(ValidationError):
        ticket_comment(actor=manager, ticket=ticket, body="late")
    kinds = list(TicketEntry.objects.filter(ticket=ticket).values_list("to_status", flat=True))
    assert kinds == ["open", "in_progress", "resolved", "closed"]


def test_ticket_comment_needs_a_body_and_is_audited(manager, org):
    ticket = TicketFactory(asset__organization=org)
    with pytest.raises(ValidationError) as exc:
        ticket_comment(actor=manager, ticket=ticket, body="  ")
    assert "body" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        ticket_comment(actor=manager, ticket=ticket, body="Called\x00 the vendor")
    assert "NUL" in exc.value.message_dict["body"][0]
    assert not TicketEntry.objects.filter(ticket=ticket, body__contains="Called").exists()
    ticket_comment(actor=manager, ticket=ticket, body="Called the vendor")
    assert AuditEvent.objects.filter(action="asset.ticket_commented").count() == 1


def test_a_ticket_of_another_practice_is_refused(manager, other_org):
    ticket = TicketFactory(asset__organization=other_org)
    with pytest.raises(ValidationError):
        ticket_move(actor=manager, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)


def test_alerts_are_raised_once_per_threshold_and_become_office_manager_tasks(manager, org):
    # given a licence expiring in 45 days, a warranty that lapsed, a retired PC and a scale overdue for calibration
    today = date(2026, 11, 27)
    licence = AssetFactory(organization=org, kind=AssetKind.SOFTWARE_LICENCE, licence_seats=10,
                           licence_expires=today + timedelta(days=45))
    AssetFactory(organization=org, warranty_expires=today - timedelta(days=1))
    AssetFactory(organization=org, warranty_expires=today, status=AssetStatus.RETIRED, retired_on=today)
    ScheduleFactory(asset__organization=org, next_due_on=today - timedelta(days=3))
    ScheduleFactory(asset__organization=org, next_due_on=today + timedelta(days=200))
    # when the daily run goes twice
    assert asset_alerts_send(organization=org, today=today) == 3
    assert asset_alerts_send(organization=org, today=today + timedelta(days=1)) == 0
    # then the licence got its 60-day alert, and each alert is a task for the office manager
    assert AssetAlert.objects.get(asset=licence).threshold_days == 60
    assert set(AssetAlert.objects.values_list("threshold_days", flat=True)) == {60, 0}
    tasks = StaffTask.objects.filter(reference__startswith="asset-alert:")
    assert tasks.count() == 3 and {t.assignee_role for t in tasks} == {Role.OFFICE_MANAGER}
    # and 16 days later the licence reaches 30 days: one new alert
    assert asset_alerts_send(organization=org, today=today + timedelta(days=16)) == 1


def test_a_renewed_warranty_starts_a_new_series(manager, org):
    today = date(2026, 11, 27)
    asset = AssetFactory(organization=org, warranty_expires=today + timedelta(days=10))
    assert asset_alerts_send(organization=org, today=today) == 1
    asset.warranty_expires = today + timedelta(days=20)
    asset.save()
    assert asset_alerts_send(organization=org, today=today) == 1


def test_vendor_of_another_practice_is_refused_on_a_ticket(manager, org, other_org):
    vendor = Vendor.objects.create(organization=other_org, name="Elsewhere IT")
    with pytest.raises(ValidationError) as exc:
        ticket_open(actor=manager, asset=AssetFactory(organization=org), data={"title": "x", "vendor": vendor})
    assert "vendor" in exc.value.message_dict


def test_the_daily_task_is_registered_and_raises_each_practices_alerts(org, other_org):
    from clinicdesk.core.periodic import periodic_tasks
    from clinicdesk.inventory.assets.tasks import asset_alerts_daily

    assert "clinicdesk.inventory.assets.tasks.asset_alerts_daily" in {p.task_path for p in periodic_tasks()}
    AssetFactory(organization=org, warranty_expires=timezone.localdate() + timedelta(days=5))
    AssetFactory(organization=other_org, support_expires=timezone.localdate() - timedelta(days=5))
    assert asset_alerts_daily.call() == {org.slug: 1, other_org.slug: 1}
    assert asset_alerts_daily.call() == {org.slug: 0, other_org.slug: 0}
