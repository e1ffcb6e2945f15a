"""The printable day sheet: a real PDF (read back with poppler's pdftotext), one page per provider, and an
audit row per patient printed."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from django.urls import reverse
from freezegun import freeze_time

from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent

from ..choices import AppointmentStatus
from .screens import NOW, Desk

pytestmark = pytest.mark.django_db

PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture
def desk(org):
    # The URLs (and the API's schemas with them) load outside freezegun's clock: pydantic refuses its fake dates.
    reverse("scheduling:calendar")
    return Desk.build(org)


def pdf_text(pdf: bytes, tmp_path) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is missing: `make test` installs Debian's poppler-utils")
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    return subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout  # noqa: S603


def _sheet(client, desk, **params):
    return client.get(reverse("scheduling:day_sheet"), {"location": desk.location.pk, "date": "2027-03-15", **params})


@freeze_time(NOW)
def test_the_day_sheet_is_a_pdf_with_each_visit_of_the_provider(client_as, desk, tmp_path):
    # given Dr. Chen's Monday
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9), room=desk.room, notes="Bring glucose log")
    desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 3, 15, 10, 30), kind=desk.physical, status=AppointmentStatus.CONFIRMED)
    desk.appointment(desk.dr_chen, desk.maria, desk.at(2027, 3, 15, 11), status=AppointmentStatus.CANCELLED)
    desk.appointment(desk.dr_osei, desk.maria, desk.at(2027, 3, 15, 9))  # another provider's
    # when
    response = _sheet(client_as(desk.user), desk, provider=desk.dr_chen.pk)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF-")
    text = pdf_text(response.content, tmp_path)
    assert "Wei Chen, MD" in text and "Monday, March 15, 2027" in text and "Riverside Main" in text
    assert "09:00–09:15" in text and "Alvarez, Ana" in text and "03/07/1984" in text
    assert "Follow-up" in text and "Exam 1" in text and "Bring glucose log" in text and "Scheduled" in text
    assert "10:30–11:15" in text and "Alvarez, Luis" in text and "New patient" in text and "Confirmed" in text
    assert "Hours: 08:00–12:00, 13:00–17:00" in text
    assert "Chen, Maria" not in text  # cancelled, and Dr. Osei's
    assert "1 cancelled (not listed)" in text


@freeze_time(NOW)
def test_printing_is_audited_once_per_patient(client_as, desk):
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 14))
    desk.appointment(desk.dr_chen, desk.luis, desk.at(2027, 3, 15, 10))
    desk.appointment(desk.dr_chen, desk.maria, desk.at(2027, 3, 15, 11), status=AppointmentStatus.CANCELLED)
    _sheet(client_as(desk.user), desk, provider=desk.dr_chen.pk)
    printed = AuditEvent.objects.filter(action="patient.printed")
    assert sorted(printed.values_list("patient_id", flat=True)) == sorted([desk.ana.pk, desk.luis.pk])
    assert {(e.channel, e.actor_id, e.organization_id) for e in printed} == {(AuditChannel.PRINT, desk.user.pk, desk.organization.pk)}
    assert all("Day sheet 2027-03-15" in e.summary for e in printed)


@freeze_time(NOW)
def test_without_a_provider_every_provider_gets_a_page(client_as, desk, tmp_path):
    desk.appointment(desk.dr_chen, desk.ana, desk.at(2027, 3, 15, 9))
    desk.appointment(desk.dr_osei, desk.luis, desk.at(2027, 3, 15, 9))
    text = pdf_text(_sheet(client_as(desk.user), desk).content, tmp_path)
    pages = text.split("\f")
    assert "Wei Chen" in pages[0] and "Alvarez, Ana" in pages[0]
    assert "Ama Osei" in pages[1] and "Alvarez, Luis" in pages[1]


@freeze_time(NOW)
def test_a_free_day_prints_an_empty_sheet(client_as, desk, tmp_path):
    text = pdf_text(_sheet(client_as(desk.user), desk, provider=desk.dr_osei.pk, date="2027-03-20").content, tmp_path)
    assert "No appointments." in text and "Hours: none" in text
    assert not AuditEvent.objects.filter(action="patient.printed").exists()


@pytest.mark.parametrize(
    "params",
    [{"date": "2027-02-30"}, {"date": "tomorrow"}, {"provider": "x"}, {"provider": "999999"}, {"location": "0"},
     {"location": "\x00"}, {"date": "٢٠٢٧-٠٣-١٥"}],
)
def test_bad_input_is_a_400(client_as, desk, params):
    response = _sheet(client_as(desk.user), desk, **params)
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="patient.printed").exists()


def test_another_practices_provider_and_location_are_refused(client_as, desk, other_org):
    other = Desk.build(other_org)
    other.appointment(other.dr_chen, other.ana, other.at(2027, 3, 15, 9))
    assert _sheet(client_as(desk.user), desk, provider=other.dr_chen.pk).status_code == 400
    assert _sheet(client_as(desk.user), desk, location=other.location.pk).status_code == 400


def test_the_sheet_needs_schedule_and_patient_access(client_as, desk, make_user):
    assert _sheet(client_as(make_user(Role.AUDITOR)), desk).status_code == 403


def test_the_sheet_is_not_cached(client_as, desk):
    response = _sheet(client_as(desk.user), desk, date=date(2027, 3, 15).isoformat())
    assert response["Cache-Control"] == "no-store"
