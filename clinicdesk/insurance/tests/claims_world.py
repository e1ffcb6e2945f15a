"""A small practice for the claims tests: a biller, a provider with an NPI, a payer, a patient with a primary
coverage, and posted encounters whose charges claims can take over."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clinicdesk.billing.models import Fee, FeeSchedule, ProcedureCode
from clinicdesk.billing.services.charges import ServiceInput, encounter_code, encounter_create, encounter_post
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory, UserFactory
from clinicdesk.insurance.models import Coverage, Payer
from clinicdesk.patients.tests.factories import PatientFactory

DAY = date(2026, 11, 2)
TODAY = date(2026, 11, 20)
VALID_NPI = "1234567893"
OTHER_VALID_NPI = "1245319599"
PRICES = {"99213": "110.00", "99214": "165.00", "36415": "18.00", "97110": "40.00", "93000": "45.00"}


class ClaimsWorld:
    def __init__(self, org):
        org.npi, org.tax_id = VALID_NPI, "12-3456789"
        org.save(update_fields=["npi", "tax_id"])
        self.org = org
        self.biller = UserFactory(organization=org, role=Role.BILLER, username=f"biller-{org.pk}")
        self.provider = UserFactory(organization=org, role=Role.CLINICIAN, username=f"doc-{org.pk}", npi=OTHER_VALID_NPI)
        self.location = LocationFactory(organization=org)
        schedule = FeeSchedule.objects.create(organization=org, name="Standard", is_default=True)
        for code, price in PRICES.items():
            procedure = ProcedureCode.objects.create(organization=org, code_system="CPT", code=code,
                                                     description=f"Service {code}")
            Fee.objects.create(organization=org, schedule=schedule, procedure=procedure, price=Decimal(price),
                               effective_from=date(2026, 1, 1))
        self.payer = Payer.objects.create(organization=org, name="Acme Health", payer_identifier="ACME1")
        self.patient = self.new_patient("Rivera")

    def new_patient(self, last_name: str, *, covered: bool = True, **fields):
        patient = PatientFactory(organization=self.org, last_name=last_name, first_name=fields.pop("first_name", "Ana"),
                                 address_line1="12 Elm Street", city="Springfield", state="IL", postal_code="62701",
                                 date_of_birth=fields.pop("date_of_birth", date(1980, 5, 4)), **fields)
        if covered:
            self.cover(patient)
        return patient

    def cover(self, patient, *, payer=None, rank: int = 1, **fields) -> Coverage:
        return Coverage.objects.create(
            organization=self.org, patient=patient, payer=payer or self.payer, rank=rank,
            subscriber_first_name=patient.first_name, subscriber_last_name=patient.last_name,
            member_id=fields.pop("member_id", f"M{patient.pk:06d}"), effective_from=fields.pop("effective_from", date(2026, 1, 1)),
            **fields)

    def posted(self, patient=None, *, diagnoses=("J06.9",), services=(("99213", "", 1),), day=DAY):
        encounter = encounter_create(patient=patient or self.patient, provider=self.provider, location=self.location,
                                     service_date=day, actor=self.provider)
        encounter_code(encounter=encounter, actor=self.provider, diagnoses=list(diagnoses), services=[
            ServiceInput(code=code, modifiers=mods, units=units, pointers="1") for code, mods, units in services])
        return encounter_post(encounter=encounter, actor=self.biller)

    def appealed(self, patient=None, *, reason: str = "The visit was medically necessary."):
        """A claim sent, denied (CO-50) and appealed: its draft appeal waits to be sent."""
        from clinicdesk.insurance.services.claims import appeal_create, claim_transition, claims_build
        from clinicdesk.insurance.services.scrubber import claim_scrub

        [claim] = claims_build(actor=self.biller, encounters=[self.posted(patient)])
        claim_scrub(claim=claim, actor=self.biller, today=TODAY)
        for status in ("submitted", "denied"):
            claim_transition(claim=claim, to_status=status, actor=self.biller, note="CO-50")
        appeal = appeal_create(claim=claim, reason=reason, actor=self.biller)
        return claim, appeal
