"""Online booking: the public page's free times, requests, e-mail verification, patient matching, expiry,
the office's approval queue, throttling, and that the public page shows nobody else's data."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.patients.choices import AdministrativeSex
from clinicdesk.patients.models import Patient
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, BookingChannel, OnlineRequestStatus
from clinicdesk.scheduling.models import Appointment, OnlineBookingRequest
from clinicdesk.scheduling.selectors.online import format_start, online_free_times
from clinicdesk.scheduling.services import online as online_services
from clinicdesk.scheduling.services.appointments import appointment_book
from clinicdesk.scheduling.services.online import (
    OnlineRequestExpired,
    OnlineTimeTaken,
    online_request_approve,
    online_request_create,
    online_request_decline,
    online_request_verify,
    online_requests_expire,
)

from .factories import AppointmentFactory, AppointmentTypeFactory, Clinic

pytestmark = pytest.mark.django_db

NOW = "2027-03-10T12:00:00Z"  # a Wednesday, 07:00 in New York; 2027-03-15 is a Monday (after the DST change)
SLUG = "riverside-test-main"
LINK = re.compile(r"https?://[^\s]+/verify/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def _urls_loaded():
    """Load the URLconf before a test freezes the clock: the API's schemas must not be built with freezegun's dates."""
    get_resolver().url_patterns  # noqa: B018


@pytest.fixture
def clinic(org):
    clinic = Clinic.build(org)
    clinic.organization.name = "Riverside"
    clinic.schedule.online_booking_enabled = True
    clinic.schedule.online_booking_slug = SLUG
    clinic.schedule.online_booking_days_ahead = 14
    clinic.schedule.save()
    clinic.kind.bookable_online = True
    clinic.kind.save()
    return clinic


def person(**overrides):
    values = {
        "first_name": "Maria", "last_name": "Lopez", "date_of_birth": date(1985, 4, 2), "email": "Maria.Lopez@example.com",
        "phone": "(202) 555-0143", "reason": "Sore throat",
    }
    values.update(overrides)
    return values


def request_time(clinic, starts_at=None, **overrides):
    args = dict(
        schedule=clinic.schedule, appointment_type=clinic.kind, provider=clinic.provider,
        starts_at=starts_at or clinic.at(2027, 3, 15, 9), site_url="http://testserver/", **person(),
    )
    args.update(overrides)
    return online_request_create(**args)


def token_from_mail(message) -> str:
    return LINK.search(message.body).group(1)


# --- free times ------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_free_times_are_grouped_by_day_in_the_location_zone(clinic):
    times = online_free_times(schedule=clinic.schedule, appointment_type=clinic.kind)
    first = times.days[0]
    assert first.day == date(2027, 3, 10)
    assert first.times[0].starts_at == clinic.at(2027, 3, 10, 8)
    assert first.times[0].provider_name == "Wei Chen, MD"
    assert {t.starts_at.utcoffset() for d in times.days for t in d.times} == {timedelta(hours=-5), timedelta(hours=-4)}


@freeze_time(NOW)
def test_free_times_stop_at_the_booking_horizon(clinic):
    clinic.schedule.online_booking_days_ahead = 3
    clinic.schedule.save()
    times = online_free_times(schedule=clinic.schedule, appointment_type=clinic.kind, days=30)
    assert max(d.day for d in times.days) <= date(2027, 3, 13)
    assert times.next_from is None


@freeze_time(NOW)
def test_free_times_skip_booked_times(clinic):
    AppointmentFactory(
        organization=clinic.organization, provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
        patient=clinic.patient, starts_at=clinic.at(2027, 3, 15, 9),
    )
    times = online_free_times(schedule=clinic.schedule, appointment_type=clinic.kind, from_day=date(2027, 3, 15), days=1)
    starts = [t.starts_at for t in times.days[0].times]
    assert clinic.at(2027, 3, 15, 9) not in starts
    assert clinic.at(2027, 3, 15, 9, 15) in starts


@freeze_time(NOW)
def test_a_type_not_bookable_online_has_no_free_times(clinic):
    clinic.kind.bookable_online = False
    clinic.kind.save()
    assert online_free_times(schedule=clinic.schedule, appointment_type=clinic.kind).days == []


# --- the request -------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_a_request_keeps_only_the_token_hash_and_mails_the_link(clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        online_request, token = request_time(clinic)
    online_request.refresh_from_db()
    assert online_request.status == OnlineRequestStatus.PENDING_VERIFICATION
    assert online_request.verify_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert online_request.email == "maria.lopez@example.com"
    assert online_request.phone == "+12025550143"
    assert online_request.expires_at - online_request.created_at <= timedelta(minutes=30, seconds=1)
    assert all(token not in str(value) for value in OnlineBookingRequest.objects.values().get().values())
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["maria.lopez@example.com"]
    assert token_from_mail(message) == token
    assert f"/book/{SLUG}/verify/{token}/" in message.body
    assert AuditEvent.objects.filter(action="online_request.created").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"date_of_birth": date(2030, 1, 1)}, "date_of_birth"),
        ({"date_of_birth": date(1850, 1, 1)}, "date_of_birth"),
        ({"first_name": "  "}, "first_name"),
        ({"phone": "12"}, "phone"),
    ],
)
@freeze_time(NOW)
def test_bad_details_are_refused_on_their_field(clinic, overrides, field):
    with pytest.raises(ValidationError) as caught:
        request_time(clinic, **overrides)
    assert field in caught.value.message_dict
    assert not OnlineBookingRequest.objects.exists()
    assert mail.outbox == []


@freeze_time(NOW)
def test_a_time_in_the_past_is_refused(clinic):
    with pytest.raises(ValidationError) as caught:
        request_time(clinic, starts_at=clinic.at(2027, 3, 9, 9))
    assert "starts_at" in caught.value.message_dict
    assert not OnlineBookingRequest.objects.exists()


@freeze_time(NOW)
def test_a_type_not_bookable_online_is_refused(clinic):
    other = AppointmentTypeFactory(organization=clinic.organization, bookable_online=False)
    with pytest.raises(ValidationError) as caught:
        request_time(clinic, appointment_type=other)
    assert "appointment_type" in caught.value.message_dict


@freeze_time(NOW)
def test_a_time_outside_availability_or_beyond_the_horizon_is_refused(clinic):
    with pytest.raises(OnlineTimeTaken):
        request_time(clinic, starts_at=clinic.at(2027, 3, 15, 12, 30))  # lunch
    with pytest.raises(ValidationError) as caught:
        request_time(clinic, starts_at=clinic.at(2027, 4, 20, 9))
    assert "starts_at" in caught.value.message_dict
    assert not OnlineBookingRequest.objects.exists()


# --- verification: book at once ---------------------------------------------------------------------------


@freeze_time(NOW)
def test_verifying_books_a_new_patient(clinic, django_capture_on_commit_callbacks):
    online_request, _ = request_time(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        online_request = online_request_verify(online_request=online_request)
    assert online_request.status == OnlineRequestStatus.BOOKED
    appointment = online_request.appointment
    assert appointment.channel == BookingChannel.ONLINE
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert appointment.starts_at == clinic.at(2027, 3, 15, 9)
    assert appointment.booked_by is None
    assert "Sore throat" in appointment.notes
    patient = appointment.patient
    assert (patient.first_name, patient.last_name, patient.date_of_birth) == ("Maria", "Lopez", date(1985, 4, 2))
    assert patient.sex == AdministrativeSex.UNKNOWN
    assert patient.email == "maria.lopez@example.com"
    assert patient.phone_mobile == "+12025550143"
    assert "is booked" in mail.outbox[-1].subject
    assert AuditEvent.objects.filter(action="online_request.booked", patient_id=patient.pk).exists()


@freeze_time(NOW)
def test_verifying_uses_the_one_existing_patient_with_the_same_name_and_birth_date(clinic):
    existing = PatientFactory(organization=clinic.organization, first_name="MARIA", last_name="López", date_of_birth=date(1985, 4, 2))
    online_request, _ = request_time(clinic)
    before = Patient.objects.count()
    online_request = online_request_verify(online_request=online_request)
    assert online_request.appointment.patient == existing
    assert Patient.objects.count() == before
    existing.refresh_from_db()
    assert existing.email != "maria.lopez@example.com"  # the public page never changes a record


@freeze_time(NOW)
def test_two_possible_matches_make_a_new_record_and_note_the_duplicates(clinic):
    twins = [PatientFactory(organization=clinic.organization, first_name="Maria", last_name="Lopez", date_of_birth=date(1985, 4, 2))
             for _ in range(2)]
    online_request, _ = request_time(clinic)
    online_request = online_request_verify(online_request=online_request)
    assert online_request.appointment.patient not in twins
    override = AuditEvent.objects.get(action="patient.duplicate_override")
    assert set(override.changes["duplicates"]) == {p.public_id for p in twins}


@freeze_time(NOW)
def test_a_similar_but_different_name_is_not_a_match(clinic):
    PatientFactory(organization=clinic.organization, first_name="Marie", last_name="Lopez", date_of_birth=date(1985, 4, 2))
    online_request, _ = request_time(clinic)
    online_request = online_request_verify(online_request=online_request)
    assert online_request.appointment.patient.first_name == "Maria"


@freeze_time(NOW)
def test_patients_of_another_practice_are_never_matched(clinic, other_org):
    PatientFactory(organization=other_org, first_name="Maria", last_name="Lopez", date_of_birth=date(1985, 4, 2))
    online_request, _ = request_time(clinic)
    online_request = online_request_verify(online_request=online_request)
    assert online_request.appointment.patient.organization_id == clinic.organization.pk


@freeze_time(NOW)
def test_verifying_twice_is_harmless(clinic):
    online_request, _ = request_time(clinic)
    online_request_verify(online_request=online_request)
    again = online_request_verify(online_request=online_request)
    assert again.status == OnlineRequestStatus.BOOKED
    assert Appointment.objects.count() == 1


def test_an_unverified_request_expires(clinic):
    with freeze_time(NOW):
        online_request, _ = request_time(clinic)
    with freeze_time("2027-03-10T12:31:00Z"), pytest.raises(OnlineRequestExpired):
        online_request_verify(online_request=online_request)
    online_request.refresh_from_db()
    assert online_request.status == OnlineRequestStatus.EXPIRED
    assert not Appointment.objects.exists()


def test_expired_requests_are_swept(clinic):
    with freeze_time(NOW):
        old, _ = request_time(clinic)
    with freeze_time("2027-03-10T12:20:00Z"):
        fresh, _ = request_time(clinic, starts_at=clinic.at(2027, 3, 15, 10))
    with freeze_time("2027-03-10T12:35:00Z"):
        assert online_requests_expire() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (OnlineRequestStatus.EXPIRED, OnlineRequestStatus.PENDING_VERIFICATION)


@freeze_time(NOW)
def test_a_time_taken_meanwhile_keeps_the_verification_and_another_time_can_be_chosen(clinic):
    online_request, _ = request_time(clinic)
    appointment_book(
        actor=clinic.actor, patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, 15, 9),
    )
    with pytest.raises(OnlineTimeTaken):
        online_request_verify(online_request=online_request)
    online_request.refresh_from_db()
    assert online_request.status == OnlineRequestStatus.PENDING_VERIFICATION
    assert online_request.verified_at is not None
    assert online_request.starts_at == clinic.at(2027, 3, 15, 9)
    assert Patient.objects.count() == 1  # nobody was registered for the failed attempt
    online_request = online_request_verify(
        online_request=online_request, provider=clinic.provider, starts_at=clinic.at(2027, 3, 15, 9, 30)
    )
    assert online_request.status == OnlineRequestStatus.BOOKED
    assert online_request.appointment.starts_at == clinic.at(2027, 3, 15, 9, 30)


@freeze_time(NOW)
def test_a_new_patient_only_visit_for_a_known_patient_goes_to_the_office(clinic):
    clinic.kind.new_patient_only = True
    clinic.kind.save()
    known = PatientFactory(organization=clinic.organization, first_name="Maria", last_name="Lopez", date_of_birth=date(1985, 4, 2))
    AppointmentFactory(
        organization=clinic.organization, provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
        patient=known, starts_at=clinic.at(2027, 3, 11, 9),
    )
    online_request, _ = request_time(clinic)
    online_request = online_request_verify(online_request=online_request)
    assert online_request.status == OnlineRequestStatus.PENDING_APPROVAL
    assert AuditEvent.objects.filter(action="online_request.needs_review").exists()


# --- the office's approval ------------------------------------------------------------------------------


@pytest.fixture
def approving(clinic):
    clinic.schedule.online_requires_approval = True
    clinic.schedule.save()
    return clinic


@freeze_time(NOW)
def test_with_approval_the_request_waits_and_its_time_is_not_offered_online(approving, django_capture_on_commit_callbacks):
    clinic = approving
    online_request, _ = request_time(clinic)
    online_request = online_request_verify(online_request=online_request)
    assert online_request.status == OnlineRequestStatus.PENDING_APPROVAL
    assert not Appointment.objects.exists()
    times = online_free_times(schedule=clinic.schedule, appointment_type=clinic.kind, from_day=date(2027, 3, 15), days=1)
    assert clinic.at(2027, 3, 15, 9) not in [t.starts_at for t in times.days[0].times]
    with django_capture_on_commit_callbacks(execute=True):
        online_request = online_request_approve(actor=clinic.actor, online_request=online_request)
    assert online_request.status == OnlineRequestStatus.BOOKED
    assert online_request.decided_by == clinic.actor
    assert online_request.appointment.booked_by == clinic.actor
    assert online_request.appointment.channel == BookingChannel.ONLINE
    assert "is booked" in mail.outbox[-1].subject
    assert AuditEvent.objects.filter(action="online_request.approved", actor_id=clinic.actor.pk).exists()


@freeze_time(NOW)
def test_the_time_is_not_held_until_approved(approving, django_capture_on_commit_callbacks):
    clinic = approving
    online_request, _ = request_time(clinic)
    online_request = online_request_verify(online_request=online_request)
    # the front desk books the same time by phone: allowed, the request holds nothing on the calendar
    appointment_book(
        actor=clinic.actor, patient=clinic.patient, provider=clinic.provider, location=clinic.location,
        appointment_type=clinic.kind, starts_at=clinic.at(2027, 3, 15, 9),
    )
    with pytest.raises(ValidationError) as caught:
        online_request_approve(actor=clinic.actor, online_request=online_request)
    assert "no longer free" in " ".join(caught.value.messages)
    online_request.refresh_from_db()
    assert online_request.status == OnlineRequestStatus.PENDING_APPROVAL
    with django_capture_on_commit_callbacks(execute=True):
        online_request_decline(actor=clinic.actor, online_request=online_request, reason="Dr Chen is fully booked that day.")
    online_request.refresh_from_db()
    assert online_request.status == OnlineRequestStatus.DECLINED
    assert mail.outbox[-1].to == ["maria.lopez@example.com"]
    assert "fully booked" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="online_request.declined").exists()


@freeze_time(NOW)
def test_only_the_practice_with_the_permission_decides(approving, other_org):
    clinic = approving
    online_request, _ = request_time(clinic)
    online_request = online_request_verify(online_request=online_request)
    outsider = UserFactory(organization=other_org, role=Role.FRONT_DESK)
    biller = UserFactory(organization=clinic.organization, role=Role.BILLER)
    for actor in (outsider, biller):
        with pytest.raises(ValidationError):
            online_request_approve(actor=actor, online_request=online_request)
        with pytest.raises(ValidationError):
            online_request_decline(actor=actor, online_request=online_request)
    online_request.refresh_from_db()
    assert online_request.status == OnlineRequestStatus.PENDING_APPROVAL


# --- pages -------------------------------------------------------------------------------------------------


def page_url(name: str = "booking_page", **kwargs) -> str:
    return reverse(f"scheduling_public:{name}", kwargs={"location_slug": SLUG, **kwargs})


@freeze_time(NOW)
def test_unknown_or_switched_off_pages_are_a_clear_404(client, clinic):
    assert client.get(page_url(location_slug="nowhere")).status_code == 404
    clinic.schedule.online_booking_enabled = False
    clinic.schedule.save()
    response = client.get(page_url())
    assert response.status_code == 404
    assert "not available" in response.content.decode()
    assert client.get(page_url("booking_times"), {"type": clinic.kind.code}).status_code == 404


@freeze_time(NOW)
def test_the_public_page_shows_no_staff_navigation_and_offers_times(client, clinic):
    response = client.get(page_url(), {"type": clinic.kind.code})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-label="Main"' not in html and "patient-search" not in html
    assert "Wei Chen, MD" in html
    assert f"slot={clinic.provider.pk}%3A20270310T1300Z" in html  # 08:00 New York


@freeze_time(NOW)
def test_the_public_page_and_its_json_leak_nothing_about_other_patients(client, clinic):
    secret_patient = PatientFactory(
        organization=clinic.organization, first_name="Zebulon", last_name="Quagmirewell", email="zeb@example.org",
        mrn="LEAK001", phone_mobile="+12025550199",
    )
    AppointmentFactory(
        organization=clinic.organization, provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
        patient=secret_patient, starts_at=clinic.at(2027, 3, 10, 9), notes="Private note about the knee",
    )
    OnlineBookingRequest.objects.create(
        organization=clinic.organization, location=clinic.location, appointment_type=clinic.kind, provider=clinic.provider,
        starts_at=clinic.at(2027, 3, 10, 10), ends_at=clinic.at(2027, 3, 10, 10, 15), first_name="Ophelia",
        last_name="Requestwood", date_of_birth=date(1970, 1, 1), email="ophelia@example.org", verify_token_hash="x" * 64,
        status=OnlineRequestStatus.PENDING_APPROVAL, expires_at=clinic.at(2027, 3, 10, 10),
    )
    secrets_ = ["Zebulon", "Quagmirewell", "zeb@example.org", "LEAK001", "5550199", "knee", "Ophelia", "Requestwood",
                clinic.provider.username, clinic.provider.email, clinic.patient.last_name, secret_patient.public_id]
    html = client.get(page_url(), {"type": clinic.kind.code}).content.decode()
    response = client.get(page_url("booking_times"), {"type": clinic.kind.code})
    body = response.content.decode()
    for text in secrets_:
        assert text not in html
        assert text not in body
    data = response.json()
    assert set(data) == {"location", "time_zone", "appointment_type", "requires_approval", "days", "next_from"}
    time_keys = {key for day in data["days"] for t in day["times"] for key in t}
    assert time_keys == {"start", "end", "provider", "provider_name", "slot"}
    starts = [t["start"] for day in data["days"] for t in day["times"]]
    assert "2027-03-10T09:00:00-05:00" not in starts  # taken
    assert "2027-03-10T10:00:00-05:00" not in starts  # waiting for approval


@freeze_time(NOW)
def test_the_json_refuses_a_missing_type_with_a_400(client, clinic):
    response = client.get(page_url("booking_times"), {"type": "no-such-type", "provider": "9" * 30})
    assert response.status_code == 400
    assert "type" in response.json()["errors"]


def form_data(clinic, starts_at, **overrides):
    data = {"type": clinic.kind.code, "slot": f"{clinic.provider.pk}:{format_start(starts_at)}", **person()}
    data["date_of_birth"] = data["date_of_birth"].isoformat()
    data.update(overrides)
    return data


@freeze_time(NOW)
def test_booking_end_to_end_through_the_pages(client, clinic, django_capture_on_commit_callbacks):
    # given the patient chose a time on the page
    starts_at = clinic.at(2027, 3, 15, 9)
    form = client.get(page_url("booking_request"), {"type": clinic.kind.code, "slot": f"{clinic.provider.pk}:{format_start(starts_at)}"})
    assert form.status_code == 200
    assert "Monday, March 15, 2027 at 09:00" in form.content.decode()
    # when they send their details
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_url("booking_request"), form_data(clinic, starts_at))
    assert response.status_code == 302
    assert response["Location"] == page_url("booking_sent")
    assert len(mail.outbox) == 1
    link = LINK.search(mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    # then the link shows a confirm button, and confirming books
    shown = client.get(path)
    assert shown.status_code == 200
    assert 'id="confirm-booking"' in shown.content.decode()
    assert not Appointment.objects.exists()  # opening the link books nothing
    confirmed = client.post(path)
    assert confirmed.status_code == 200
    assert "Your appointment is booked" in confirmed.content.decode()
    appointment = Appointment.objects.get()
    assert appointment.channel == BookingChannel.ONLINE
    assert appointment.starts_at == starts_at


@freeze_time(NOW)
def test_bad_input_on_the_form_is_shown_on_the_field_and_nothing_is_saved(client, clinic):
    starts_at = clinic.at(2027, 3, 15, 9)
    for overrides, field in [({"email": "nope"}, "email"), ({"date_of_birth": "2031-01-01"}, "date_of_birth"),
                             ({"date_of_birth": "2026-02-30"}, "date_of_birth"), ({"phone": "abc"}, "phone")]:
        response = client.post(page_url("booking_request"), form_data(clinic, starts_at, **overrides))
        assert response.status_code == 400
        assert field in response.context["form"].errors
    assert not OnlineBookingRequest.objects.exists()
    assert mail.outbox == []


@freeze_time(NOW)
def test_a_past_time_or_an_unknown_type_sends_the_patient_back(client, clinic):
    past = client.post(page_url("booking_request"), form_data(clinic, clinic.at(2027, 3, 9, 9)))
    assert past.status_code == 400
    assert "passed" in past.content.decode()
    other = AppointmentTypeFactory(organization=clinic.organization, bookable_online=False)
    response = client.get(page_url("booking_request"), {"type": other.code, "slot": f"{clinic.provider.pk}:20270315T1300Z"})
    assert response.status_code == 302
    assert not OnlineBookingRequest.objects.exists()


@freeze_time(NOW)
def test_a_taken_time_on_the_form_offers_other_times(client, clinic):
    starts_at = clinic.at(2027, 3, 15, 9)
    AppointmentFactory(
        organization=clinic.organization, provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
        patient=clinic.patient, starts_at=starts_at,
    )
    response = client.post(page_url("booking_request"), form_data(clinic, starts_at))
    assert response.status_code == 400
    html = response.content.decode()
    assert "taken in the meantime" in html
    assert f'value="{clinic.provider.pk}:{format_start(clinic.at(2027, 3, 15, 9, 15))}"' in html


@freeze_time(NOW)
def test_a_taken_time_on_the_verification_page_offers_other_times(client, clinic):
    online_request, token = request_time(clinic)
    AppointmentFactory(
        organization=clinic.organization, provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
        patient=clinic.patient, starts_at=clinic.at(2027, 3, 15, 9),
    )
    path = page_url("booking_verify", token=token)
    response = client.post(path)
    assert response.status_code == 409
    html = response.content.decode()
    assert "taken in the meantime" in html
    other = f"{clinic.provider.pk}:{format_start(clinic.at(2027, 3, 15, 9, 15))}"
    assert f'value="{other}"' in html
    response = client.post(path, {"slot": other})
    assert response.status_code == 200
    assert "Your appointment is booked" in response.content.decode()


def test_an_expired_link_says_so(client, clinic):
    with freeze_time(NOW):
        _, token = request_time(clinic)
    with freeze_time("2027-03-10T13:00:00Z"):
        shown = client.get(page_url("booking_verify", token=token))
        assert "has expired" in shown.content.decode()
        posted = client.post(page_url("booking_verify", token=token))
        assert "has expired" in posted.content.decode()
    assert not Appointment.objects.exists()


@freeze_time(NOW)
def test_a_wrong_token_is_a_404(client, clinic):
    response = client.get(page_url("booking_verify", token="not-the-token"))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


@freeze_time(NOW)
def test_with_approval_the_patient_is_told_the_time_is_not_held(client, approving):
    _, token = request_time(approving)
    response = client.post(page_url("booking_verify", token=token))
    html = response.content.decode()
    assert "not held for you until the office approves" in html
    assert not Appointment.objects.exists()


@freeze_time(NOW)
def test_the_form_needs_the_csrf_token(clinic):
    client = Client(enforce_csrf_checks=True)
    response = client.post(page_url("booking_request"), form_data(clinic, clinic.at(2027, 3, 15, 9)))
    assert response.status_code == 403
    assert not OnlineBookingRequest.objects.exists()


# --- throttling -------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_requests_from_one_address_are_limited(client, clinic, settings):
    settings.ONLINE_BOOKING_RATE_LIMITS = {"request_ip": "3/h", "request_email": "100/h"}
    statuses = []
    for minute in range(4):
        response = client.post(
            page_url("booking_request"), form_data(clinic, clinic.at(2027, 3, 15, 9, minute * 15), email=f"p{minute}@example.com")
        )
        statuses.append(response.status_code)
    assert statuses == [302, 302, 302, 429]
    assert "Too many requests" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert OnlineBookingRequest.objects.count() == 3
    # another address is not affected
    other = client.post(page_url("booking_request"), form_data(clinic, clinic.at(2027, 3, 15, 11)), REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302


@freeze_time(NOW)
def test_requests_for_one_email_are_limited_from_any_address(client, clinic, settings, django_capture_on_commit_callbacks):
    settings.ONLINE_BOOKING_RATE_LIMITS = {"request_ip": "100/h", "request_email": "2/h"}
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            client.post(
                page_url("booking_request"), form_data(clinic, clinic.at(2027, 3, 15, 9, i * 15), email="SAME@example.com"),
                REMOTE_ADDR=f"203.0.113.{i + 1}",
            ).status_code
            for i in range(3)
        ]
    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2


@freeze_time(NOW)
def test_the_times_page_and_json_are_limited(client, clinic, settings):
    settings.ONLINE_BOOKING_RATE_LIMITS = {"times_ip": "2/m"}
    assert client.get(page_url()).status_code == 200
    assert client.get(page_url("booking_times"), {"type": clinic.kind.code}).status_code == 200
    response = client.get(page_url("booking_times"), {"type": clinic.kind.code})
    assert response.status_code == 429
    assert "Too many requests" in response.json()["detail"]


# --- the office's queue -------------------------------------------------------------------------------------


@pytest.fixture
def waiting(approving):
    with freeze_time(NOW):
        online_request, _ = request_time(approving)
        return online_services.online_request_verify(online_request=online_request)


@freeze_time(NOW)
def test_the_queue_lists_waiting_requests_and_approving_books(client_as, approving, waiting, django_capture_on_commit_callbacks):
    client = client_as(approving.actor)
    html = client.get(reverse("scheduling:online_requests")).content.decode()
    assert "Lopez, Maria" in html and "Sore throat" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scheduling:online_request_approve", args=[waiting.pk]))
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == OnlineRequestStatus.BOOKED
    assert Appointment.objects.get().channel == BookingChannel.ONLINE
    assert len(mail.outbox) == 1


@freeze_time(NOW)
def test_declining_from_the_queue_emails_the_patient(client_as, approving, waiting, django_capture_on_commit_callbacks):
    client = client_as(approving.actor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("scheduling:online_request_decline", args=[waiting.pk]), {"reason": "Please call us first."})
    waiting.refresh_from_db()
    assert waiting.status == OnlineRequestStatus.DECLINED
    assert "Please call us first." in mail.outbox[-1].body


@freeze_time(NOW)
def test_the_queue_needs_the_permission_and_the_same_practice(client_as, approving, waiting, other_org):
    clinician = UserFactory(organization=approving.organization, role=Role.CLINICIAN)
    assert client_as(clinician).get(reverse("scheduling:online_requests")).status_code == 403
    outsider = UserFactory(organization=other_org, role=Role.FRONT_DESK)
    client = client_as(outsider)
    assert "Lopez" not in client.get(reverse("scheduling:online_requests")).content.decode()
    assert client.post(reverse("scheduling:online_request_approve", args=[waiting.pk])).status_code == 404
    waiting.refresh_from_db()
    assert waiting.status == OnlineRequestStatus.PENDING_APPROVAL


@freeze_time(NOW)
def test_the_queue_is_in_the_navigation_of_the_front_desk(client_as, approving):
    html = client_as(approving.actor).get(reverse("scheduling:online_requests")).content.decode()
    assert f'href="{reverse("scheduling:online_requests")}" aria-current="page"' in html


@freeze_time(NOW)
def test_the_queue_query_count_does_not_grow_with_rows(client_as, approving):
    clinic = approving
    client = client_as(clinic.actor)

    def add(n):
        for i in range(n):
            OnlineBookingRequest.objects.create(
                organization=clinic.organization, location=clinic.location, appointment_type=clinic.kind, provider=clinic.provider,
                starts_at=clinic.at(2027, 3, 16, 9) + timedelta(minutes=15 * i), ends_at=clinic.at(2027, 3, 16, 9, 15) + timedelta(minutes=15 * i),
                first_name="A", last_name=f"B{i}", date_of_birth=date(1990, 1, 1), email=f"a{i}@example.com",
                verify_token_hash=hashlib.sha256(f"{i}-{OnlineBookingRequest.objects.count()}".encode()).hexdigest(),
                status=OnlineRequestStatus.PENDING_APPROVAL, expires_at=clinic.at(2027, 3, 16, 9),
            )

    add(2)
    client.get(reverse("scheduling:online_requests"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("scheduling:online_requests"))
    add(20)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("scheduling:online_requests"))
    assert len(many) == len(few)


@freeze_time(NOW)
def test_the_public_page_query_count_does_not_grow_with_appointments(client, clinic):
    def add(days):
        for day in days:
            AppointmentFactory(
                organization=clinic.organization, provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
                patient=PatientFactory(organization=clinic.organization), starts_at=clinic.at(2027, 3, day, 9),
            )

    add([11])
    client.get(page_url(), {"type": clinic.kind.code})
    with CaptureQueriesContext(connection) as few:
        client.get(page_url(), {"type": clinic.kind.code})
    add([12, 15, 16])
    with CaptureQueriesContext(connection) as many:
        client.get(page_url(), {"type": clinic.kind.code})
    assert len(many) == len(few)


def test_the_demo_switches_online_booking_on_at_both_locations():
    from clinicdesk.core import demo as core_demo
    from clinicdesk.scheduling import demo
    from clinicdesk.scheduling.demo_online import seed_online
    from clinicdesk.scheduling.models import CalendarFeed, LocationSchedule

    # given the demo practice with its types and usual weeks
    ctx = core_demo.seed()
    demo._location_settings(ctx)
    demo._types(ctx.organization)
    demo._templates(ctx)
    # when
    added = seed_online(ctx, seed=2026)
    # then
    settings_ = {s.online_booking_slug: s for s in LocationSchedule.objects.filter(location__organization=ctx.organization)}
    assert settings_["riverside-main"].online_booking_enabled and not settings_["riverside-main"].online_requires_approval
    assert settings_["riverside-north"].online_booking_enabled and settings_["riverside-north"].online_requires_approval
    assert OnlineBookingRequest.objects.filter(status=OnlineRequestStatus.PENDING_APPROVAL).count() == 2
    assert CalendarFeed.objects.filter(provider=ctx.users["drchen"], revoked_at__isnull=True).count() == 1
    assert added >= 3
    assert seed_online(ctx, seed=2026) == 0
