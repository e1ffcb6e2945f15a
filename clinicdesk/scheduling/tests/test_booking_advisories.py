"""Booking advisories: a higher app's warnings (insurance registers one) shown beside each patient on the booking
page, for the slot's visit type and local date, without ever stopping the booking."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from clinicdesk.scheduling import booking_advisories as registry
from clinicdesk.scheduling.models import Appointment

from .factories import Clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch):
    """Only a fake advisory is registered; it remembers what it was asked."""
    calls = []

    def fake(*, patient, appointment_type, on):
        calls.append((patient.pk, appointment_type.pk, on))
        return [f"Check {patient.last_name}'s card before the {appointment_type.name.lower()}."]

    monkeypatch.setattr(registry, "BOOKING_ADVISORIES", [])
    registry.register_booking_advisory(fake)
    registry.register_booking_advisory(fake)  # registering twice keeps one
    return calls


def test_the_booking_page_shows_each_patients_warnings(client_as, heard):
    clinic = Clinic.build()
    # 00:30 in UTC on the 16th is still the 15th in New York: the advisory is asked about the local day
    starts = clinic.at(2027, 3, 15, 20, 30)
    query = urlencode({"appointment_type": clinic.kind.pk, "provider": clinic.provider.pk,
                       "location": clinic.location.pk, "starts_at": starts.astimezone(UTC).isoformat(),
                       "q": clinic.patient.last_name})
    page = client_as(clinic.actor).get(reverse("scheduling:book") + "?" + query)
    assert page.status_code == 200
    assert f"Check {clinic.patient.last_name}&#x27;s card before the follow-up." in page.content.decode()
    assert heard == [(clinic.patient.pk, clinic.kind.pk, starts.date())]


def test_a_warning_never_stops_the_booking(client_as, heard):
    clinic = Clinic.build()
    starts = clinic.at(2027, 3, 15, 9)
    done = client_as(clinic.actor).post(reverse("scheduling:book"), {
        "appointment_type": clinic.kind.pk, "provider": clinic.provider.pk, "location": clinic.location.pk,
        "starts_at": starts.isoformat(), "patient": clinic.patient.public_id})
    assert done.status_code == 302 and Appointment.objects.filter(patient=clinic.patient).count() == 1


def test_without_advisories_nothing_is_shown(client_as, monkeypatch):
    monkeypatch.setattr(registry, "BOOKING_ADVISORIES", [])
    clinic = Clinic.build()
    query = urlencode({"appointment_type": clinic.kind.pk, "provider": clinic.provider.pk,
                       "location": clinic.location.pk, "starts_at": clinic.at(2027, 3, 15, 9).isoformat(),
                       "q": clinic.patient.last_name})
    page = client_as(clinic.actor).get(reverse("scheduling:book") + "?" + query).content.decode()
    assert clinic.patient.last_name in page and "booking-warnings" not in page
