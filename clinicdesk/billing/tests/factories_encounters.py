"""Encounters for the tests of the coding page, the review queue and the scrubber checks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clinicdesk.billing.models import EncounterDiagnosis, Fee, ProcedureCode, ServiceLine
from clinicdesk.billing.services.charges import ServiceInput, encounter_code, encounter_create, encounter_submit
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.patients.tests.factories import PatientFactory

DAY = date(2026, 11, 2)

# Procedures the conftest's fee schedule lacks: an injection and a joint injection (each bundles a visit).
EXTRA_PRICES = {"96372": "35.00", "20610": "120.00", "J1100": "6.50"}


def add_procedures(schedule) -> None:
    for code, price in EXTRA_PRICES.items():
        procedure = ProcedureCode.objects.create(organization=schedule.organization, code=code, description=f"Service {code}",
                                                 code_system="HCPCS" if code.startswith("J") else "CPT")
        Fee.objects.create(organization=schedule.organization, schedule=schedule, procedure=procedure,
                           price=Decimal(price), effective_from=date(2026, 1, 1))


def new_encounter(org, provider, *, patient=None, location=None, day=DAY, actor=None):
    return encounter_create(patient=patient or PatientFactory(organization=org), provider=provider,
                            location=location or LocationFactory(organization=org), service_date=day,
                            actor=actor or provider)


def coded(org, provider, *, diagnoses=("J06.9",), services=(("99213", "", 1),), submit=True, **kwargs):
    """An encounter coded through the service (so only billable codes), sent to review unless told."""
    encounter = new_encounter(org, provider, **kwargs)
    encounter_code(encounter=encounter, actor=provider, diagnoses=list(diagnoses), services=[
        ServiceInput(code=code, modifiers=mods, units=units, pointers="1") for code, mods, units in services])
    if submit:
        encounter_submit(encounter=encounter, actor=provider)
    return encounter


def with_header_code(org, provider, *, header="M54.5", **kwargs):
    """An encounter whose diagnosis is a heading: coded before the code was split in a newer release (M54.5 was
    billable until October 2021), as an import or an old record brings it in. encounter_code would refuse it."""
    encounter = coded(org, provider, diagnoses=("M54.50",), services=(("99213", "", 1),), **kwargs)
    EncounterDiagnosis.objects.filter(encounter=encounter, sequence=1).update(code=header)
    return encounter


def add_line(encounter, code: str, *, modifiers: str = "", units: int = 1, pointers: str = "1", price: str = "10.00"):
    """A service line straight on the table, for scrubber cases the coding service would not let through."""
    sequence = encounter.services.count() + 1
    return ServiceLine.objects.create(encounter=encounter, sequence=sequence, procedure_code=code, modifiers=modifiers,
                                      description=f"Service {code}", units=units, unit_price=Decimal(price),
                                      amount=Decimal(price) * units, diagnosis_pointers=pointers)
