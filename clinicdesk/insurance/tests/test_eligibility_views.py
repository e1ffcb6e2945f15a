"""Eligibility pages: the day (and CSV) with check now, the whole day in the background, the 271 detail."""

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.audit import AuditEvent
from clinicdesk.core.choices import Role
from clinicdesk.insurance.models import EligibilityCheck
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import enrol, make_coverage

DAY = date(2026, 12, 1)


def _at(day, hour):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()) + timedelta(hours=hour))


@pytest.fixture
def booked(practice, coverage):
    return AppointmentFactory(organization=practice, patient=coverage.patient, starts_at=_at(DAY, 9),
                              ends_at=_at(DAY, 9) + timedelta(minutes=20), status=AppointmentStatus.CONFIRMED)


def test_the_day_lists_appointments_and_check_now_answers(client_as, make_user, booked, clearinghouse, coverage):
    enrol(clearinghouse, coverage)
    client = client_as(make_user(Role.FRONT_DESK, username="desk"))
    url = reverse("insurance:eligibility_day")
    page = client.get(url, {"day": DAY.isoformat()})
    assert page.status_code == 200 and "Not checked" in page.content.decode()
    response = client.post(reverse("insurance:eligibility_check_now"), {
        "coverage": coverage.public_id, "appointment": booked.public_id, "day": DAY.isoformat()})
    assert response.status_code == 302
    check = EligibilityCheck.objects.get()
    assert check.appointment == booked and check.status == "active"
    page = client.get(url, {"day": DAY.isoformat()}).content.decode()
    assert "Coverage active" in page and "25.00" in page and "900.00" in page
    csv = b"".join(client.get(url, {"day": DAY.isoformat(), "format": "csv"}).streaming_content).decode()
    assert "Coverage active" in csv and coverage.member_id in csv
    assert AuditEvent.objects.filter(action="eligibility.day_viewed", patient_id=coverage.patient_id).exists()


def test_the_detail_shows_the_benefits(client_as, make_user, clearinghouse, coverage):
    from clinicdesk.insurance.services.eligibility import eligibility_check

    desk = make_user(Role.FRONT_DESK, username="desk")
    enrol(clearinghouse, coverage)
    check = eligibility_check(coverage=coverage, service_date=DAY, actor=desk)
    page = client_as(desk).get(reverse("insurance:eligibility_detail", args=[check.pk])).content.decode()
    assert "Copays" in page and "Deductibles" in page and "Choice PPO" in page
    assert AuditEvent.objects.filter(action="eligibility.viewed").count() == 1


def test_a_bad_day_is_a_400_and_an_unknown_coverage_a_404(client_as, make_user, coverage):
    client = client_as(make_user(Role.FRONT_DESK, username="desk"))
    assert client.get(reverse("insurance:eligibility_day"), {"day": "tomorrow"}).status_code == 400
    assert client.post(reverse("insurance:eligibility_check_now"), {"coverage": "nope"}).status_code == 404
    assert not EligibilityCheck.objects.exists()


def test_running_the_day_in_the_background_shows_progress(client_as, make_user, booked, clearinghouse, coverage,
                                                          settings):
    enrol(clearinghouse, coverage)
    client = client_as(make_user(Role.FRONT_DESK, username="desk"))
    response = client.post(reverse("insurance:eligibility_run"), {"day": DAY.isoformat()})
    assert response.status_code == 302
    page = client.get(reverse("insurance:eligibility_day"), {"day": DAY.isoformat()}).content.decode()
    assert "eligibility-progress" in page
    from clinicdesk.insurance.services.eligibility import eligibility_check_day

    counts = eligibility_check_day(organization=coverage.organization, day=DAY)
    assert counts["done"] == 1 and counts["active"] == 1
    page = client.get(reverse("insurance:eligibility_day"), {"day": DAY.isoformat()}).content.decode()
    assert "Checked 1 of 1" in page


def test_the_day_list_takes_as_many_queries_for_six_rows_as_for_two(client_as, make_user, practice, payer, plan,
                                                                    clearinghouse):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinicdesk.patients.tests.factories import PatientFactory

    client = client_as(make_user(Role.FRONT_DESK, username="desk"))
    client.get(reverse("insurance:eligibility_day"), {"day": DAY.isoformat()})  # the session's first request
    counts = []
    for hours in (range(8, 10), range(10, 14)):
        for hour in hours:
            patient = PatientFactory(organization=practice)
            make_coverage(patient, payer, plan, member_id=f"M{hour}")
            AppointmentFactory(organization=practice, patient=patient, starts_at=_at(DAY, hour),
                               ends_at=_at(DAY, hour) + timedelta(minutes=20))
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("insurance:eligibility_day"), {"day": DAY.isoformat()})
        counts.append(len(queries))
    assert page.content.decode().count("Check now:") == 6
    assert counts[0] == counts[1] <= 20, counts


def test_a_clinician_cannot_check(client_as, make_user, coverage):
    client = client_as(make_user(Role.CLINICIAN, username="doc"))
    response = client.post(reverse("insurance:eligibility_check_now"), {"coverage": coverage.public_id})
    assert response.status_code == 403
