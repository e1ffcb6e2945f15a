"""The appointment pages (detail, move, cancel, status, find a time and book) and the schedule setup pages:
thin checks that they call the services and show their errors, and list pages whose query count is flat."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus, ExceptionKind
from clinicdesk.scheduling.models import Appointment, AppointmentType, AvailabilityTemplate, ScheduleException

from .factories import (
    AppointmentFactory,
    AvailabilityTemplateFactory,
    Clinic,
    ProviderFactory,
    ScheduleExceptionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time("2027-03-10T12:00:00Z"):
        yield


@pytest.fixture
def clinic():
    return Clinic.build()


@pytest.fixture
def desk(client, clinic):
    client.force_login(clinic.actor)
    return client


@pytest.fixture
def manager(client, clinic):
    client.force_login(UserFactory(organization=clinic.organization, role=Role.OFFICE_MANAGER))
    return client


def booked(clinic, **kwargs):
    values = {"patient": clinic.patient, "appointment_type": clinic.kind, "starts_at": clinic.at(2027, 3, 15, 9), **kwargs}
    return AppointmentFactory(organization=clinic.organization, provider=clinic.provider, location=clinic.location, **values)


def test_appointment_page_shows_local_time_and_audits(desk, clinic):
    appointment = booked(clinic)
    response = desk.get(reverse("scheduling:appointment", args=[appointment.public_id]))
    assert response.status_code == 200
    assert "09:00–09:15" in response.content.decode()
    assert AuditEvent.objects.filter(action="appointment.viewed", target_id=str(appointment.pk)).exists()
    assert desk.get(reverse("scheduling:appointment", args=[AppointmentFactory().public_id])).status_code == 404


def test_move_page(desk, clinic):
    appointment = booked(clinic)
    url = reverse("scheduling:appointment_edit", args=[appointment.public_id])
    form = {"date": "2027-03-16", "time": "10:30", "duration_minutes": 15, "provider": clinic.provider.pk}
    assert desk.post(url, form).status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == clinic.at(2027, 3, 16, 10, 30)
    refused = desk.post(url, {**form, "time": "12:30"})
    assert refused.status_code == 400 and "Outside" in refused.content.decode()
    booked(clinic, patient=PatientFactory(organization=clinic.organization))  # takes 09:00 on the 15th
    taken = desk.post(url, {**form, "date": "2027-03-15", "time": "09:00"})
    assert taken.status_code == 409


def test_cancel_page_and_status_buttons(desk, clinic):
    appointment = booked(clinic)
    status_url = reverse("scheduling:appointment_status", args=[appointment.public_id])
    assert desk.post(status_url, {"status": "confirmed"}).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    desk.post(status_url, {"status": "completed"})  # refused: shown as a message, nothing changes
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    url = reverse("scheduling:appointment_cancel", args=[appointment.public_id])
    assert desk.post(url, {"reason": ""}).status_code == 400
    assert desk.post(url, {"reason": "Feeling better"}).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED


def test_find_a_time_then_book(desk, clinic):
    response = desk.get(reverse("scheduling:find_slot"), {"appointment_type": clinic.kind.pk, "date_from": "2027-03-15",
                                                          "time_of_day": "afternoon", "days": 3})
    assert response.status_code == 200
    assert len(response.context["slots"]) == 40
    first = response.context["slots"][0]
    assert first["local"].hour == 13
    book_url = first["book_url"]
    picked = desk.get(book_url + f"&q={clinic.patient.last_name[:4]}")
    assert clinic.patient in picked.context["matches"]
    slot = first["slot"]
    done = desk.post(reverse("scheduling:book"), {"appointment_type": clinic.kind.pk, "provider": slot.provider_id,
                                                  "location": slot.location_id, "starts_at": slot.starts_at.isoformat(),
                                                  "patient": clinic.patient.public_id, "notes": "Cough"})
    assert done.status_code == 302
    assert Appointment.objects.get().notes == "Cough"
    again = desk.post(reverse("scheduling:book"), {"appointment_type": clinic.kind.pk, "provider": slot.provider_id,
                                                   "location": slot.location_id, "starts_at": slot.starts_at.isoformat(),
                                                   "patient": PatientFactory(organization=clinic.organization).public_id})
    assert again.status_code == 409


def test_block_a_day_lists_the_patients_to_call(desk, clinic):
    for hour in (8, 9, 10):
        booked(clinic, patient=PatientFactory(organization=clinic.organization), starts_at=clinic.at(2027, 3, 15, hour))
    response = desk.post(reverse("scheduling:setup_block_day"), {"provider": clinic.provider.pk, "day": "2027-03-15",
                                                                 "kind": ExceptionKind.SICK, "reason": "Flu"})
    assert response.status_code == 302
    page = desk.get(response["Location"])
    assert len(page.context["rows"]) == 3 and "Move to first free" in page.content.decode()
    other = ProviderFactory(organization=clinic.organization)
    AvailabilityTemplateFactory(provider=other, location=clinic.location)
    appointment = page.context["rows"][0]["appointment"]
    moved = desk.post(reverse("scheduling:appointment_first_free", args=[appointment.public_id]), {"next": response["Location"]})
    assert moved.status_code == 302 and moved["Location"] == response["Location"]
    appointment.refresh_from_db()
    assert appointment.starts_at == clinic.at(2027, 3, 10, 8)  # the first free time, today (with either provider)


def test_setup_pages_need_schedule_manage(desk, clinic):
    assert desk.get(reverse("scheduling:setup_types")).status_code == 403
    assert desk.get(reverse("scheduling:setup_exceptions")).status_code == 200


def test_type_and_template_forms(manager, clinic):
    response = manager.post(reverse("scheduling:setup_type_create"), {
        "name": "Allergy shot", "code": "allergy", "duration_minutes": 10, "color": "#aa3300", "buffer_before_minutes": 0,
        "buffer_after_minutes": 0, "min_notice_minutes": 0, "late_cancel_hours": 24, "capacity": 1, "is_active": "on"})
    assert response.status_code == 302
    assert AppointmentType.objects.filter(code="allergy").exists()
    provider = ProviderFactory(organization=clinic.organization)
    form = {"provider": provider.pk, "location": clinic.location.pk, "name": "Usual week", "effective_from": "2027-01-01",
            "mon": "09:00-12:00, 13:00-16:00", "wed": "08:00-12:00"}
    assert manager.post(reverse("scheduling:setup_template_create"), form).status_code == 302
    template = AvailabilityTemplate.objects.get(provider=provider)
    assert template.blocks.count() == 3
    bad = manager.post(reverse("scheduling:setup_template_edit", args=[template.pk]), {**form, "mon": "9 to 5"})
    assert bad.status_code == 400 and "is not like 08:00-12:00" in bad.content.decode()


def test_exception_form_uses_the_locations_clock(desk, clinic):
    response = desk.post(reverse("scheduling:setup_exception_create"), {
        "kind": ExceptionKind.BLOCKED, "provider": clinic.provider.pk, "location": clinic.location.pk,
        "start_date": "2027-03-15", "start_time": "10:00", "end_date": "2027-03-15", "end_time": "11:00", "reason": "Training"})
    assert response.status_code == 302
    exception = ScheduleException.objects.get()
    assert exception.starts_at == clinic.at(2027, 3, 15, 10)


@pytest.mark.parametrize("name", ["scheduling:setup_types", "scheduling:setup_templates", "scheduling:setup_exceptions"])
def test_setup_lists_do_not_grow_in_queries(manager, clinic, name):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert manager.get(reverse(name)).status_code == 200
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        for _ in range(n):
            provider = ProviderFactory(organization=clinic.organization)
            AvailabilityTemplateFactory(provider=provider, location=clinic.location)
            ScheduleExceptionFactory(provider=provider, location=clinic.location, starts_at=clinic.at(2027, 3, 20, 0),
                                     ends_at=clinic.at(2027, 3, 21, 0))
            AppointmentFactory(organization=clinic.organization, provider=provider, location=clinic.location)

    add(1)
    count()  # the first request of the session fills what is cached per session
    few = count()
    add(6)
    assert count() == few
    assert date(2027, 3, 10)  # the frozen day the exceptions are listed from
