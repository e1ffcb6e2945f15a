from datetime import date

import factory

from clinicdesk.core.tests.factories import OrganizationFactory
from clinicdesk.inventory.assets.choices import AssetKind, IntervalUnit
from clinicdesk.inventory.assets.models import Asset, MaintenanceSchedule, ServiceTicket


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    organization = factory.SubFactory(OrganizationFactory)
    tag = factory.Sequence(lambda n: f"IT-{n:04d}")
    name = factory.Sequence(lambda n: f"Workstation {n}")
    kind = AssetKind.COMPUTER
    make = "Dell"
    model = "OptiPlex 7010"


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaintenanceSchedule

    asset = factory.SubFactory(AssetFactory)
    organization = factory.LazyAttribute(lambda s: s.asset.organization)
    name = "Calibration"
    interval_count = 12
    interval_unit = IntervalUnit.MONTHS
    starts_on = date(2026, 1, 1)
    next_due_on = factory.LazyAttribute(lambda s: s.starts_on)


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceTicket

    asset = factory.SubFactory(AssetFactory)
    organization = factory.LazyAttribute(lambda t: t.asset.organization)
    title = factory.Sequence(lambda n: f"Problem {n}")
