"""A practice ready to book physical therapy: a scheduling clinic whose patient is covered by a payer that needs a
prior authorisation for the therapy codes (a rule naming the "Physical therapy" visit type)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.urls import reverse

from clinicdesk.insurance.choices import PayerRuleKind
from clinicdesk.insurance.models import Coverage, Payer, PayerRule, PriorAuthorization
from clinicdesk.scheduling.tests.factories import AppointmentTypeFactory, Clinic


class BookingWorld:
    def __init__(self, org):
        self.clinic = Clinic.build(org)
        self.therapy = AppointmentTypeFactory(organization=org, name="Physical therapy", code="pt")
        self.payer = Payer.objects.create(organization=org, name="Acme Health", payer_identifier="ACME1")
        self.patient = self.clinic.patient
        self.coverage = Coverage.objects.create(
            organization=org, patient=self.patient, payer=self.payer, subscriber_first_name=self.patient.first_name,
            subscriber_last_name=self.patient.last_name, member_id="M1", effective_from=date(2026, 1, 1))
        PayerRule.objects.create(organization=org, payer=self.payer, kind=PayerRuleKind.REQUIRE_AUTH,
                                 codes="97110,97140", values="Physical therapy")

    def authorize(self, *, units: int = 12, used: int = 0, starts_on=date(2027, 1, 1), ends_on=date(2027, 6, 30)):
        return PriorAuthorization.objects.create(
            organization=self.coverage.organization, patient=self.patient, coverage=self.coverage, number="PA-1",
            procedure_codes="97110,97140", units_authorized=units, units_used=used, starts_on=starts_on,
            ends_on=ends_on)

    def book_url(self, appointment_type=None, *, day=(2027, 3, 15)) -> str:
        return reverse("scheduling:book") + "?" + urlencode({
            "appointment_type": (appointment_type or self.therapy).pk, "provider": self.clinic.provider.pk,
            "location": self.clinic.location.pk, "starts_at": self.clinic.at(*day, 9).isoformat(),
            "q": self.patient.last_name})
