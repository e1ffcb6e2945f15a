"""Appointments in and out as CSV or XLSX: the import books and moves through the booking service (dry run, all or
nothing, double booking refused on its line, unknown names by line and column, the same result from either
format, the download re-importing as unchanged) and its pages."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.core.tests.spreadsheets import xlsx_of
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import AppointmentStatus
from clinicdesk.scheduling.models import Appointment
from clinicdesk.scheduling.services.appointments import appointment_book, appointment_cancel
from clinicdesk.scheduling.services.imports import appointments_import

from .factories import Clinic

pytestmark = pytest.mark.django_db

NOW = "2027-03-10T12:00:00Z"  # Wednesday; Monday 2027-03-15 is a working day of the clinic's provider
HEADER = "public_id,patient_mrn,provider,location,appointment_type,starts_at,ends_at,room,status,channel,notes\n"


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def clinic():
    return Clinic.build()


def line(clinic, *, patient=None, provider=None, at="2027-03-15 09:00", public_id="", location=None, kind=None,
         notes="") -> str:
    return ",".join([public_id, (patient or clinic.patient).mrn, provider or clinic.provider.username,
                     location or clinic.location.code, kind or clinic.kind.code, at, "", "", "", "", notes]) + "\n"


def run(clinic, text: str, *, dry_run: bool = True, file=None):
    return appointments_import(actor=clinic.actor, file=file or text.encode(), dry_run=dry_run)


def outcomes(result) -> list[tuple[int, str, str]]:
    return [(r.line, r.outcome, r.message) for r in result.rows]


def booked(clinic, hour: int, *, patient=None, notes: str = ""):
    return appointment_book(actor=clinic.actor, patient=patient or PatientFactory(organization=clinic.organization),
                            provider=clinic.provider, location=clinic.location, appointment_type=clinic.kind,
                            starts_at=clinic.at(2027, 3, 15, hour), notes=notes)


def download(client, clinic, kind: str) -> bytes:
    response = client.get(reverse("scheduling:appointment_download"),
                          {"location": clinic.location.pk, "date": "2027-03-15", "format": kind})
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- the service -------------------------------------------------------------------------------------------


def test_a_dry_run_checks_every_booking_and_saves_nothing(clinic):
    other = PatientFactory(organization=clinic.organization)
    text = HEADER + line(clinic) + line(clinic, patient=other, at="2027-03-15 09:30")
    events = AuditEvent.objects.count()
    result = run(clinic, text)
    assert outcomes(result) == [(2, "new", ""), (3, "new", "")]
    assert not Appointment.objects.exists() and AuditEvent.objects.count() == events


def test_the_import_books_through_the_booking_service_and_audits_the_counts(clinic):
    text = HEADER + line(clinic, notes="Knee review")
    result = run(clinic, text, dry_run=False)
    assert result.saved
    appointment = Appointment.objects.get()
    assert appointment.starts_at == clinic.at(2027, 3, 15, 9) and appointment.notes == "Knee review"
    assert appointment.booked_by == clinic.actor
    assert AuditEvent.objects.filter(action="appointment.booked").count() == 1
    assert AuditEvent.objects.get(action="appointments.imported").changes["counts"]["new"] == 1


def test_a_double_booking_is_refused_on_its_line_and_nothing_is_saved(clinic):
    # given 10:00 already taken, then a file that books 09:00 twice and 10:00 once
    booked(clinic, 10)
    second, third = (PatientFactory(organization=clinic.organization) for _ in range(2))
    text = HEADER + line(clinic) + line(clinic, patient=second) + line(clinic, patient=third, at="2027-03-15 10:00")
    # when it is imported
    result = run(clinic, text, dry_run=False)
    # then the clash with an earlier line and the clash with the schedule are both named, and line 2 is not kept
    messages = {r.line: r.message for r in result.rows}
    assert messages[2] == ""
    assert messages[3].startswith("Line 3, column starts_at: Wei Chen, MD already has an appointment 09:00–09:15")
    assert messages[4].startswith("Line 4, column starts_at: Wei Chen, MD already has an appointment 10:00–10:15")
    assert not result.saved and Appointment.objects.count() == 1


def test_unknown_provider_location_and_type_are_named_by_line_and_column(clinic):
    desk = UserFactory(organization=clinic.organization, role=Role.FRONT_DESK)
    text = (HEADER + line(clinic, provider="dr-nobody") + line(clinic, location="moon-base")
            + line(clinic, kind="massage") + line(clinic, provider=desk.username) + line(clinic, at="15/03/2027 9am"))
    result = run(clinic, text)
    assert [r.message for r in result.rows] == [
        "Line 2, column provider: no provider dr-nobody in this practice.",
        "Line 3, column location: no location moon-base in this practice.",
        "Line 4, column appointment_type: no appointment type massage in this practice.",
        f"Line 5, column provider: no provider {desk.username} in this practice.",
        "Line 6, column starts_at: 15/03/2027 9am is not a date and time; write it as YYYY-MM-DD HH:MM, e.g. "
        "2027-03-15 09:00.",
    ]


def test_another_practices_patient_is_not_found(clinic):
    stranger = PatientFactory()
    result = run(clinic, HEADER + line(clinic, patient=stranger))
    assert outcomes(result) == [(2, "error", f"Line 2, column patient_mrn: no patient with MRN {stranger.mrn} in this "
                                             "practice.")]


def test_a_row_with_a_public_id_moves_that_appointment(clinic):
    appointment = booked(clinic, 9, patient=clinic.patient)
    text = HEADER + line(clinic, public_id=appointment.public_id, at="2027-03-15 11:00")
    assert outcomes(run(clinic, text)) == [(2, "updated", "")]
    assert run(clinic, text, dry_run=False).saved
    appointment.refresh_from_db()
    assert appointment.starts_at == clinic.at(2027, 3, 15, 11)
    assert AuditEvent.objects.filter(action="appointment.moved", target_id=str(appointment.pk)).exists()


def test_what_a_move_cannot_change_is_refused_on_its_column(clinic):
    appointment = booked(clinic, 9, patient=clinic.patient)
    other = PatientFactory(organization=clinic.organization)
    text = HEADER + line(clinic, public_id=appointment.public_id, patient=other)
    text += line(clinic, public_id="NOSUCHID")
    result = run(clinic, text)
    assert result.rows[0].message.startswith("Line 2, column patient_mrn: an import moves an appointment but does "
                                             "not change the patient")
    assert result.rows[1].message.startswith("Line 3, column public_id: no appointment NOSUCHID in this practice")


def test_csv_and_xlsx_give_the_same_result(clinic):
    booked(clinic, 10)
    text = HEADER + line(clinic) + line(clinic, at="2027-03-15 10:00") + line(clinic, provider="dr-nobody")
    from_csv = run(clinic, text)
    assert outcomes(from_csv) == outcomes(run(clinic, text, file=xlsx_of(text)))
    assert [r.outcome for r in from_csv.rows] == ["new", "error", "error"]


def test_a_file_lacking_a_required_column_is_refused_naming_it(clinic):
    with pytest.raises(ValidationError) as caught:
        run(clinic, "patient_mrn,provider,location,appointment_type\nF1,a,b,c\n")
    assert "lacks the column starts_at" in caught.value.message_dict["file"][0]


# --- the download and the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_download_imports_back_as_unchanged(client_as, clinic, kind):
    # given booked, cancelled and formula-looking appointments
    booked(clinic, 9, notes="=cmd|' /C calc'!A0")
    appointment_cancel(actor=clinic.actor, appointment=booked(clinic, 10), reason="Patient called")
    booked(clinic, 11)
    # when the week is downloaded and imported back
    content = download(client_as(clinic.actor), clinic, kind)
    result = run(clinic, "", file=content, dry_run=False)
    # then each appointment is matched and unchanged
    assert [r.outcome for r in result.rows] == ["unchanged"] * 3, outcomes(result)
    assert Appointment.objects.filter(status=AppointmentStatus.CANCELLED).count() == 1


def test_the_download_audits_each_patient_and_its_queries_do_not_grow_with_rows(client_as, clinic):
    client = client_as(clinic.actor)
    booked(clinic, 9)
    download(client, clinic, "csv")
    with CaptureQueriesContext(connection) as few:
        download(client, clinic, "xlsx")
    for hour in (10, 11, 13, 14):
        booked(clinic, hour)
    with CaptureQueriesContext(connection) as many:
        download(client, clinic, "xlsx")
    assert len(many.captured_queries) == len(few.captured_queries)
    assert AuditEvent.objects.filter(action="patient.exported").count() == 1 + 1 + 5


def test_the_import_page_needs_booking_rights(client_as, clinic):
    biller = UserFactory(organization=clinic.organization, role=Role.BILLER)
    assert client_as(biller).get(reverse("scheduling:appointment_import")).status_code == 403
    calendar = client_as(clinic.actor).get(reverse("scheduling:calendar")).content.decode()
    assert reverse("scheduling:appointment_import") in calendar and "format=xlsx" in calendar


def test_upload_preview_then_confirm_books(client_as, clinic):
    client = client_as(clinic.actor)
    upload = io.BytesIO((HEADER + line(clinic)).encode())
    upload.name = "appointments.csv"
    preview = client.post(reverse("scheduling:appointment_import"), {"step": "preview", "file": upload})
    assert preview.status_code == 200 and not Appointment.objects.exists()
    content = preview.context["confirm"].initial["content"]
    done = client.post(reverse("scheduling:appointment_import"), {"step": "import", "content": content})
    assert done.status_code == 302 and Appointment.objects.count() == 1
