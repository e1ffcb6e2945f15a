"""Rows the eligibility, batch and clearinghouse tests share: a practice with an NPI, a payer behind the local
clearinghouse (its state in a temporary folder), a patient with a primary coverage known to the roster."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.insurance.choices import ClearinghouseKind, SubscriberRelationship
from clinicdesk.insurance.clearinghouse.local import RosterMember, roster_put
from clinicdesk.insurance.models import Clearinghouse, Coverage, InsurancePlan, Payer
from clinicdesk.patients.tests.factories import PatientFactory


@pytest.fixture
def clearinghouse_dir(settings, tmp_path):
    settings.CLEARINGHOUSE_LOCAL_DIR = str(tmp_path / "clearinghouse")
    settings.CLEARINGHOUSE_ADAPTER = "clinicdesk.insurance.clearinghouse.local.LocalClearinghouse"
    return tmp_path / "clearinghouse"


@pytest.fixture
def practice(org):
    org.npi, org.tax_id = "1234567893", "123456789"
    org.save()
    return org


@pytest.fixture
def clearinghouse(practice, clearinghouse_dir):
    return Clearinghouse.objects.create(organization=practice, name="Local test clearinghouse",
                                        kind=ClearinghouseKind.LOCAL, submitter_id="RIVERSIDE01",
                                        receiver_id="LOCALCH", usage="T")


@pytest.fixture
def payer(practice, clearinghouse):
    return Payer.objects.create(organization=practice, name="Acme Health", payer_identifier="ACME1",
                                clearinghouse=clearinghouse, address_line1="1 Payer Way", city="Hartford",
                                state="CT", postal_code="061010001")


@pytest.fixture
def plan(payer):
    return InsurancePlan.objects.create(payer=payer, name="Choice PPO", default_copay=Decimal("25"))


@pytest.fixture
def patient(practice):
    return PatientFactory(organization=practice, first_name="Dana", last_name="Rivers",
                          date_of_birth=date(1980, 4, 2), address_line1="12 Elm St", city="Springfield",
                          state="IL", postal_code="62701")


def make_coverage(patient, payer, plan=None, *, member_id="W123456789", relationship=SubscriberRelationship.SELF,
                  rank=1, **fields) -> Coverage:
    values = {
        "subscriber_first_name": patient.first_name, "subscriber_last_name": patient.last_name,
        "subscriber_date_of_birth": patient.date_of_birth, "subscriber_sex": "F",
        "subscriber_address_line1": "12 Elm St", "subscriber_city": "Springfield", "subscriber_state": "IL",
        "subscriber_postal_code": "62701", "copay": Decimal("25"),
    }
    values.update(fields)
    return Coverage.objects.create(organization=patient.organization, patient=patient, payer=payer, plan=plan,
                                   member_id=member_id, relationship=relationship, rank=rank, **values)


@pytest.fixture
def coverage(patient, payer, plan):
    return make_coverage(patient, payer, plan)


def enrol(clearinghouse, coverage, **fields) -> RosterMember:
    values = {"plan_name": "Choice PPO", "copay": "25.00", "coinsurance_percent": "20", "deductible": "1500",
              "deductible_met": "600", "out_of_pocket": "5000", "out_of_pocket_met": "1000"}
    values.update(fields)
    member = RosterMember(payer_id=coverage.payer.payer_identifier, member_id=coverage.member_id,
                          last_name=coverage.subscriber_last_name, first_name=coverage.subscriber_first_name,
                          **values)
    roster_put(clearinghouse, member)
    return member


def make_claim(coverage, *, number="C1001", status="scrubbed", charges=("110.00", "18.00"), day=date(2026, 11, 2),
               rank=1, primary=None, doctor=None, location=None):
    """A scrubbed claim with lines, on an encounter at a location with a ZIP+4 (rows saved directly)."""
    from clinicdesk.billing.models import ServiceLine
    from clinicdesk.billing.services.charges import encounter_create
    from clinicdesk.core.choices import Role
    from clinicdesk.core.tests.factories import DepartmentFactory, LocationFactory, UserFactory
    from clinicdesk.insurance.models import Claim, ClaimLine

    organization = coverage.organization
    if doctor is None:
        doctor = UserFactory(organization=organization, role=Role.CLINICIAN, first_name="Ana", last_name="Lopez",
                             department=DepartmentFactory(organization=organization), npi="1245319599")
    if location is None:
        location = LocationFactory(organization=organization, address_line1="200 Main St", city="Springfield",
                                   state="IL", postal_code="62701-1234", phone="(217) 555-0100")
    encounter = encounter_create(patient=coverage.patient, provider=doctor, location=location, service_date=day,
                                 actor=doctor)
    total = sum((Decimal(c) for c in charges), Decimal("0"))
    claim = Claim.objects.create(
        organization=organization, claim_number=number, encounter=encounter, patient=coverage.patient,
        coverage=coverage, payer=coverage.payer, rank=rank, primary_claim=primary, status=status,
        place_of_service="11", service_from=day, service_to=day, diagnosis_codes=["J06.9", "I10"],
        rendering_provider=doctor, total_charge=total)
    codes = ["99213", "36415", "93000", "99214"]
    for sequence, charge in enumerate(charges, 1):
        service = ServiceLine.objects.create(
            encounter=encounter, sequence=sequence, procedure_code=codes[sequence - 1], description="Service",
            unit_price=Decimal(charge), amount=Decimal(charge), diagnosis_pointers="1,2")
        ClaimLine.objects.create(claim=claim, sequence=sequence, service_line=service, service_date=day,
                                 procedure_code=service.procedure_code, charge=Decimal(charge),
                                 diagnosis_pointers="1,2")
    return claim
