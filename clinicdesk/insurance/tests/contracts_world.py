"""Payers, contracts and adjudicated claims built straight on the tables, for the contract, underpayment and
scorecard tests (the claim and 835 services are not what these tests are about)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from decimal import Decimal

from django.utils import timezone

from clinicdesk.billing.models import Encounter, ServiceLine
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.insurance.choices import ClaimStatus, ContractBasis
from clinicdesk.insurance.models import (
    Claim,
    ClaimLine,
    ContractRate,
    Coverage,
    Payer,
    PayerContract,
    ReferenceRate,
    ReferenceSchedule,
)
from clinicdesk.patients.tests.factories import PatientFactory

_numbers = itertools.count(1)


def make_payer(org, name: str = "Acme Health", identifier: str | None = None) -> Payer:
    return Payer.objects.create(organization=org, name=name, payer_identifier=identifier or f"P{next(_numbers):05d}")


def make_reference(org, rates: dict, *, name: str = "Reference 2026", effective_from=date(2026, 1, 1)) -> ReferenceSchedule:
    schedule = ReferenceSchedule.objects.create(organization=org, name=name, effective_from=effective_from)
    for key, amount in rates.items():
        code, modifiers = key if isinstance(key, tuple) else (key, "")
        ReferenceRate.objects.create(schedule=schedule, procedure_code=code, modifiers=modifiers, amount=Decimal(amount))
    return schedule


def make_contract(payer, *, rates: dict | None = None, reference=None, percent=None, effective_from=date(2026, 1, 1),
                  effective_to=None, name: str = "Contract") -> PayerContract:
    contract = PayerContract.objects.create(
        organization_id=payer.organization_id, payer=payer, name=name,
        basis=ContractBasis.PERCENT_OF_REFERENCE if rates is None else ContractBasis.FEE_LIST,
        reference_schedule=reference, percent_of_reference=None if percent is None else Decimal(percent),
        effective_from=effective_from, effective_to=effective_to)
    for key, amount in (rates or {}).items():
        code, modifiers = key if isinstance(key, tuple) else (key, "")
        ContractRate.objects.create(contract=contract, procedure_code=code, modifiers=modifiers,
                                    allowed_amount=Decimal(amount))
    return contract


class ClaimMaker:
    """Claims of one practice: one patient, provider and location shared, one encounter per claim."""

    def __init__(self, org):
        self.org = org
        self.provider = UserFactory(organization=org, role=Role.CLINICIAN)
        self.location = LocationFactory(organization=org)
        self.patient = PatientFactory(organization=org)
        self.coverages: dict[int, Coverage] = {}

    def coverage(self, payer) -> Coverage:
        if payer.pk not in self.coverages:
            self.coverages[payer.pk] = Coverage.objects.create(
                organization=self.org, patient=self.patient, payer=payer, member_id=f"M{payer.pk}",
                subscriber_first_name="Pat", subscriber_last_name="Doe", rank=len(self.coverages) + 1)
        return self.coverages[payer.pk]

    def claim(self, payer, *, day: date, lines, status=ClaimStatus.PAID, submitted: date | None = None,
              adjudicated: date | None = None) -> Claim:
        """`lines`: (code, modifiers, units, charge, allowed, paid) tuples."""
        encounter = Encounter.objects.create(organization=self.org, patient=self.patient, provider=self.provider,
                                             location=self.location, service_date=day)
        n = next(_numbers)
        total = sum((Decimal(c) for _, _, _, c, _, _ in lines), Decimal(0))
        allowed = sum((Decimal(a) for _, _, _, _, a, _ in lines), Decimal(0))
        paid = sum((Decimal(p) for _, _, _, _, _, p in lines), Decimal(0))
        claim = Claim.objects.create(
            organization=self.org, claim_number=f"C{n:07d}", encounter=encounter, patient=self.patient,
            coverage=self.coverage(payer), payer=payer, status=status, place_of_service="11", service_from=day,
            service_to=day, rendering_provider=self.provider, total_charge=total, allowed_amount=allowed,
            paid_amount=paid,
            submitted_at=timezone.make_aware(datetime.combine(submitted, time(12))) if submitted else None,
            adjudicated_on=adjudicated)
        for seq, (code, modifiers, units, charge, line_allowed, line_paid) in enumerate(lines, start=1):
            service = ServiceLine.objects.create(encounter=encounter, sequence=seq, procedure_code=code,
                                                 modifiers=modifiers, description=f"Service {code}", units=units,
                                                 unit_price=(Decimal(charge) / units).quantize(Decimal("0.01")), amount=Decimal(charge),
                                                 diagnosis_pointers="1")
            ClaimLine.objects.create(claim=claim, sequence=seq, service_line=service, service_date=day,
                                     procedure_code=code, modifiers=modifiers, units=units, charge=Decimal(charge),
                                     diagnosis_pointers="1", allowed_amount=Decimal(line_allowed),
                                     paid_amount=Decimal(line_paid))
        return claim
