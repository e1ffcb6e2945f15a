"""Factories of the coverage side: clearinghouses, payers, plans, coverages and authorisations."""

from datetime import date
from decimal import Decimal

import factory

from clinicdesk.core.tests.factories import OrganizationFactory

from ..models import Clearinghouse, Coverage, InsurancePlan, Payer, PriorAuthorization


class ClearinghouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clearinghouse

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Clearinghouse {n}")
    submitter_id = "SUB1"
    receiver_id = "REC1"


class PayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Payer {n}")
    payer_identifier = factory.Sequence(lambda n: f"PID{n:04d}")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsurancePlan

    payer = factory.SubFactory(PayerFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")
    default_copay = Decimal("25.00")
    default_coinsurance_percent = Decimal("20")
    default_deductible = Decimal("1500.00")


class CoverageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coverage

    patient = None
    organization = factory.LazyAttribute(lambda o: o.patient.organization)
    payer = factory.LazyAttribute(lambda o: PayerFactory(organization=o.patient.organization))
    subscriber_first_name = factory.LazyAttribute(lambda o: o.patient.first_name)
    subscriber_last_name = factory.LazyAttribute(lambda o: o.patient.last_name)
    member_id = factory.Sequence(lambda n: f"MEM{n:06d}")
    copay = Decimal("25.00")


class AuthorizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriorAuthorization

    coverage = None
    organization = factory.LazyAttribute(lambda o: o.coverage.organization)
    patient = factory.LazyAttribute(lambda o: o.coverage.patient)
    number = factory.Sequence(lambda n: f"AUTH{n}")
    procedure_codes = "97110,97140"
    units_authorized = 10
    starts_on = date(2026, 1, 1)
    ends_on = date(2026, 12, 31)
