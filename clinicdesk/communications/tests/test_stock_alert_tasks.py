"""The daily supply alerts reach the office manager as tasks: one per low item, expiring lot and expired lot, and
not again the next day while the task is still open."""

from datetime import date, timedelta
from decimal import Decimal

from clinicdesk.communications.choices import StaffTaskStatus
from clinicdesk.communications.models import StaffTask
from clinicdesk.core.choices import Role
from clinicdesk.inventory.choices import ItemKind
from clinicdesk.inventory.services.alerts import stock_alerts_send
from clinicdesk.inventory.services.stock import stock_receive
from clinicdesk.inventory.tests.factories import ItemFactory, StockLevelFactory, StockLocationFactory

TODAY = date(2026, 11, 2)
D = Decimal


def _shelf(org):
    place = StockLocationFactory(organization=org, name="Supply room")
    gloves = ItemFactory(organization=org, name="Exam gloves", base_unit="box")
    StockLevelFactory(item=gloves, stock_location=place, par_level=D(40), reorder_point=D(20))
    stock_receive(item=gloves, stock_location=place, quantity=D(10), actor=None, received_on=TODAY)
    vaccine = ItemFactory(organization=org, name="Flu vaccine", kind=ItemKind.VACCINE, tracks_lots=True,
                          base_unit="dose")
    stock_receive(item=vaccine, stock_location=place, quantity=D(5), actor=None, lot_number="SOON",
                  expires_on=TODAY + timedelta(days=20), received_on=TODAY)
    stock_receive(item=vaccine, stock_location=place, quantity=D(2), actor=None, lot_number="GONE",
                  expires_on=TODAY - timedelta(days=3), received_on=TODAY, confirm_expired=True)
    return place, gloves, vaccine


def test_each_alert_becomes_a_task_for_the_office_manager(org):
    # given low gloves, a lot expiring in 20 days and a lot expired 3 days ago
    _shelf(org)
    # when the daily run finds them
    assert stock_alerts_send(organization=org, today=TODAY) == 3
    # then the office manager's inbox holds one task for each, due when it matters
    tasks = {t.title: t for t in StaffTask.objects.filter(organization=org)}
    assert set(tasks) == {
        "Low stock: Exam gloves in Supply room",
        "Use or return soon: Flu vaccine lot SOON in Supply room expires 11/22/2026",
        "Remove from the shelf: Flu vaccine lot GONE in Supply room expired 10/30/2026",
    }
    low = tasks["Low stock: Exam gloves in Supply room"]
    assert (low.assignee_role, low.status, low.due_on) == (Role.OFFICE_MANAGER, StaffTaskStatus.OPEN, TODAY)
    assert low.details.startswith("10 box on hand; reorder point 20 box")
    assert tasks["Use or return soon: Flu vaccine lot SOON in Supply room expires 11/22/2026"].due_on == date(2026, 11, 22)


def test_the_next_days_run_adds_no_second_task_while_the_first_is_open(org):
    # given yesterday's run made its three tasks, and the expired lot's task was done since
    _shelf(org)
    stock_alerts_send(organization=org, today=TODAY)
    done = StaffTask.objects.get(reference__startswith="stock-expired:")
    StaffTask.objects.filter(pk=done.pk).update(status=StaffTaskStatus.DONE)
    # when today's run finds the same alerts
    stock_alerts_send(organization=org, today=TODAY + timedelta(days=1))
    # then only the alert whose task was closed is told again
    references = sorted(StaffTask.objects.filter(organization=org).values_list("reference", flat=True))
    assert len(references) == 4
    assert sum(r.startswith("stock-expired:") for r in references) == 2
    assert sum(r.startswith("stock-low:") for r in references) == 1


def test_another_practices_open_task_does_not_hide_this_practices_alert(org, other_org):
    _shelf(other_org)
    stock_alerts_send(organization=other_org, today=TODAY)
    _shelf(org)
    stock_alerts_send(organization=org, today=TODAY)
    assert StaffTask.objects.filter(organization=org).count() == 3


def test_a_day_without_alerts_makes_no_task(org):
    place = StockLocationFactory(organization=org)
    stock_receive(item=ItemFactory(organization=org), stock_location=place, quantity=D(5), actor=None)
    assert stock_alerts_send(organization=org, today=TODAY) == 0
    assert not StaffTask.objects.exists()
