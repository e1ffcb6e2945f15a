"""Booking advisories: a higher app's warnings (insurance registers one) shown beside each patient on the booking
page, for the slot's visit type and local date, without ever stopping the booking."""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from clinicdesk.core.choices import Role
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


def _lapsed_licence(clinic, expired_on):
    from clinicdesk.staff.choices import CredentialKind
    from clinicdesk.staff.tests.factories import CredentialFactory, StaffMemberFactory

    member = StaffMemberFactory(organization=clinic.organization, user=clinic.provider)
    return CredentialFactory(staff=member, kind=CredentialKind.STATE_LICENSE, name="Medical licence", state="NY",
                             number="123456", expires_on=expired_on)


def test_booking_a_provider_whose_licence_has_lapsed_warns_and_still_books(client_as, monkeypatch):
    # given: Dr. Chen's licence lapsed before the slot
    monkeypatch.setattr(registry, "BOOKING_ADVISORIES", [])
    clinic = Clinic.build()
    _lapsed_licence(clinic, expired_on=clinic.at(2027, 3, 1, 0).date())
    starts = clinic.at(2027, 3, 15, 9)
    query = urlencode({"appointment_type": clinic.kind.pk, "provider": clinic.provider.pk,
                       "location": clinic.location.pk, "starts_at": starts.isoformat(), "q": clinic.patient.last_name})

    # when the desk opens the slot, then books it
    page = client_as(clinic.actor).get(reverse("scheduling:book") + "?" + query)
    done = client_as(clinic.actor).post(reverse("scheduling:book"), {
        "appointment_type": clinic.kind.pk, "provider": clinic.provider.pk, "location": clinic.location.pk,
        "starts_at": starts.isoformat(), "patient": clinic.patient.public_id}, follow=True)

    # then the warning is on the booking page and after booking, and the booking stands
    assert "Wei Chen: Medical licence NY expired 2027-03-01." in page.content.decode()
    assert "Medical licence NY expired 2027-03-01" in done.content.decode()
    assert Appointment.objects.filter(patient=clinic.patient).count() == 1


def test_a_current_licence_gives_no_provider_warning(client_as, monkeypatch):
    monkeypatch.setattr(registry, "BOOKING_ADVISORIES", [])
    clinic = Clinic.build()
    _lapsed_licence(clinic, expired_on=clinic.at(2029, 3, 1, 0).date())
    starts = clinic.at(2027, 3, 15, 9)
    query = urlencode({"appointment_type": clinic.kind.pk, "provider": clinic.provider.pk,
                       "location": clinic.location.pk, "starts_at": starts.isoformat()})
    page = client_as(clinic.actor).get(reverse("scheduling:book") + "?" + query)
    assert "provider-warnings" not in page.content.decode()


def test_giving_availability_to_a_provider_with_a_lapsed_licence_warns(client_as, make_user):
    # given
    from django.utils import timezone

    clinic = Clinic.build()
    manager = make_user(Role.OFFICE_MANAGER, organization=clinic.organization, username="sched-manager")
    _lapsed_licence(clinic, expired_on=timezone.localdate() - timedelta(days=3))

    # when
    listing = client_as(manager).get(reverse("scheduling:setup_templates"))

    # then
    assert "credential-warning" in listing.content.decode()
    assert "Medical licence NY expired" in listing.content.decode()
