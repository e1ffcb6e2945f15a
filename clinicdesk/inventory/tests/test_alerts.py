"""The daily supply alerts: low stock, expiring lots, expired lots on the shelf; the task announces them once."""

from datetime import date, timedelta
from decimal import Decimal

from clinicdesk.core.models import AuditEvent

from ..choices import ItemKind
from ..services.alerts import stock_alerts_send
from ..services.stock import stock_receive
from ..signals import stock_alerts_found
from ..tasks import stock_alerts_daily
from .factories import ItemFactory, StockLevelFactory, StockLocationFactory

TODAY = date(2026, 11, 2)
D = Decimal


def test_low_expiring_and_expired_stock_are_announced(org):
    # given gloves at 10 with a reorder point of 20; a vaccine lot expiring in 20 days; another expired 3 days ago
    place = StockLocationFactory(organization=org)
    gloves = ItemFactory(organization=org)
    StockLevelFactory(item=gloves, stock_location=place, par_level=D(100), reorder_point=D(20))
    stock_receive(item=gloves, stock_location=place, quantity=D(10), actor=None, received_on=TODAY)
    vaccine = ItemFactory(organization=org, kind=ItemKind.VACCINE, tracks_lots=True)
    stock_receive(item=vaccine, stock_location=place, quantity=D(5), actor=None, lot_number="SOON",
                  expires_on=TODAY + timedelta(days=20), received_on=TODAY)
    stock_receive(item=vaccine, stock_location=place, quantity=D(2), actor=None, lot_number="GONE",
                  expires_on=TODAY - timedelta(days=3), received_on=TODAY, confirm_expired=True)
    heard = []

    def listener(sender, organization, alerts, today, **kwargs):
        heard.append(([lvl.item_id for lvl in alerts.low], [b.lot.number for b in alerts.expiring],
                      [b.lot.number for b in alerts.expired]))

    stock_alerts_found.connect(listener)
    try:
        # when
        found = stock_alerts_send(organization=org, today=TODAY)
    finally:
        stock_alerts_found.disconnect(listener)
    # then
    assert found == 3
    assert heard == [([gloves.pk], ["SOON"], ["GONE"])]
    assert AuditEvent.objects.filter(action="inventory.alerts_found", organization_id=org.pk).exists()


def test_the_daily_task_runs_for_each_practice_with_stock(org):
    place = StockLocationFactory(organization=org)
    stock_receive(item=ItemFactory(organization=org), stock_location=place, quantity=D(1), actor=None)
    assert stock_alerts_daily.call() == {org.slug: 0}
