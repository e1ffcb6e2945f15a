"""The patient list's import (CSV or XLSX, dry run first, all or nothing) and its CSV/XLSX downloads."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tables import table_read
from clinicdesk.core.tests.spreadsheets import xlsx_of
from clinicdesk.patients.models import Patient
from clinicdesk.patients.services import patient_import
from clinicdesk.patients.tests.factories import PatientFactory

HEADER = "mrn,last_name,first_name,date_of_birth,sex,mobile_phone,email\n"


def _outcomes(result) -> list[tuple[int, str]]:
    return [(r.line, r.outcome) for r in result.rows]


def test_a_dry_run_shows_what_each_line_would_do_and_saves_nothing(front_desk):
    text = HEADER + ",Alvarez,Ana,1984-03-07,female,(202) 555-0143,ana@example.com\n,Baker,Ben,1990-01-02,male,,\n"
    result = patient_import(file=text, actor=front_desk, dry_run=True)
    assert _outcomes(result) == [(2, "new"), (3, "new")] and not result.saved
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(action__in=("patients.imported", "patient.created")).exists()


def test_an_import_registers_the_patients_through_the_service_and_audits_the_counts(front_desk):
    text = HEADER + ",Alvarez,Ana,1984-03-07,female,(202) 555-0143,Ana@Example.com\n"
    result = patient_import(file=text, actor=front_desk, dry_run=False)
    assert result.saved and result.counts["new"] == 1
    patient = Patient.objects.get(last_name="Alvarez")
    # the service's own rules: an MRN assigned, the phone in E.164, the e-mail in lower case
    assert patient.mrn and patient.phone_mobile == "+12025550143" and patient.email == "ana@example.com"
    assert patient.date_of_birth == date(1984, 3, 7)
    event = AuditEvent.objects.get(action="patients.imported")
    assert event.changes["counts"] == {"new": 1, "updated": 0, "unchanged": 0, "error": 0}


def test_one_bad_line_saves_nothing_and_each_error_names_its_line_and_column(front_desk):
    # given a good line and three bad ones: a date, a sex, and a phone only the service refuses
    text = (HEADER + ",Alvarez,Ana,1984-03-07,female,,\n,Baker,Ben,07/03/1984,male,,\n,Cruz,Cy,1970-05-05,robot,,\n"
            ",Diaz,Di,1975-06-06,female,12,\n")
    # when
    result = patient_import(file=text, actor=front_desk, dry_run=False)
    # then
    assert not result.saved and not Patient.objects.exists()
    messages = {r.line: r.message for r in result.errors}
    assert messages[3].startswith("Line 3, column date_of_birth: 07/03/1984 is not a date")
    assert messages[4].startswith("Line 4, column sex:")
    assert messages[5].startswith("Line 5, column mobile_phone:")
    assert [r.outcome for r in result.rows][0] == "new"


def test_a_known_mrn_updates_that_patient_and_a_likely_duplicate_without_mrn_is_refused(org, front_desk):
    known = PatientFactory(organization=org, mrn="A0000001", last_name="Evans", first_name="Eve",
                           date_of_birth=date(1960, 1, 1), phone_mobile="+12025550100", email="eve@example.com")
    text = HEADER + "A0000001,Evans,Eve,1960-01-01,female,202-555-0100,eve@example.com\n"
    assert _outcomes(patient_import(file=text, actor=front_desk, dry_run=True)) == [(2, "unchanged")]
    changed = HEADER + "A0000001,Evans,Eve,1960-01-01,female,202-555-0199,eve@example.com\n"
    assert patient_import(file=changed, actor=front_desk, dry_run=False).saved
    known.refresh_from_db()
    assert known.phone_mobile == "+12025550199"
    duplicate = patient_import(file=HEADER + ",evans,EVE,1960-01-01,female,,\n", actor=front_desk, dry_run=True)
    assert duplicate.errors[0].message.startswith("Line 2, column mrn: ")
    assert "MRN A0000001" in duplicate.errors[0].message
    twice = patient_import(file=HEADER + "Z1,Fox,Fay,1961-01-01,female,,\nZ1,Fox,Fay,1961-01-01,female,,\n",
                           actor=front_desk, dry_run=True)
    assert twice.errors[0].message == "Line 3, column mrn: the same MRN as line 2."


def test_another_practice_s_patient_is_never_matched(other_org, front_desk):
    PatientFactory(organization=other_org, mrn="A0000001")
    result = patient_import(file=HEADER + "A0000001,Gray,Gil,1950-02-02,male,,\n", actor=front_desk, dry_run=False)
    assert result.counts["new"] == 1
    assert Patient.objects.filter(organization=front_desk.organization, mrn="A0000001").count() == 1


def test_xlsx_and_csv_give_the_same_result(front_desk):
    text = HEADER + ",Alvarez,Ana,1984-03-07,female,,\n,Baker,Ben,1984-13-01,male,,\n"
    from_csv = patient_import(file=text, actor=front_desk, dry_run=True)
    from_xlsx = patient_import(file=xlsx_of(text), actor=front_desk, dry_run=True)
    assert [(r.line, r.outcome, r.message) for r in from_xlsx.rows] == [(r.line, r.outcome, r.message) for r in from_csv.rows]


@pytest.mark.parametrize("kind", ["export", "export_xlsx"])
def test_an_exported_list_re_imports_as_unchanged(client_as, make_user, org, kind):
    # given patients with awkward values: a phone starting with "+", an empty middle name, an accent
    manager = make_user("office_manager", username="manager-export")
    for n in range(3):
        PatientFactory(organization=org, first_name=f"Zoë{n}", middle_name="", preferred_name="=cmd",
                       address_line1="1 Main St", city="Springfield", state="IL", postal_code="62701")
    # when the list is downloaded and imported again
    response = client_as(manager).get(reverse(f"patients:{kind}"), {"sort": "mrn"})
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert len(table_read(content).rows) == 3
    result = patient_import(file=content, actor=manager, dry_run=True)
    # then
    assert result.counts == {"new": 0, "updated": 0, "unchanged": 3, "error": 0}, [r.message for r in result.rows]


def test_the_xlsx_download_costs_the_same_queries_at_any_size(client_as, make_user, org):
    manager = make_user("office_manager", username="manager-count")
    client = client_as(manager)
    PatientFactory.create_batch(2, organization=org)
    client.get(reverse("patients:export_xlsx"))  # the first request of a session does its own bookkeeping
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("patients:export_xlsx"))
    PatientFactory.create_batch(8, organization=org)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("patients:export_xlsx"))
    assert response.status_code == 200 and len(table_read(response.content).rows) == 10
    assert len(many.captured_queries) == len(few.captured_queries)


# --- the page ---------------------------------------------------------------------------------------------


def test_the_import_page_previews_then_imports(client_as, front_desk):
    client = client_as(front_desk)
    page = reverse("patients:import")
    assert client.get(page).status_code == 200
    assert 'href="/patients/import/"' in client.get(reverse("patients:list")).content.decode()
    bad = client.post(page, {"step": "preview", "file": SimpleUploadedFile("p.csv", (HEADER + ",A,B,nope,female,,\n").encode())})
    assert bad.status_code == 400 and "Line 2, column date_of_birth" in bad.content.decode()
    good = client.post(page, {"step": "preview", "file": SimpleUploadedFile("p.xlsx", xlsx_of(HEADER + ",A,B,1999-09-09,female,,\n"))})
    assert good.status_code == 200 and not Patient.objects.exists()
    content = good.context["confirm"].initial["content"]
    done = client.post(page, {"step": "import", "content": content, "file_name": "p.xlsx"})
    assert done.status_code == 302 and Patient.objects.filter(last_name="A").exists()


def test_the_import_page_needs_the_right_to_register_and_change_patients(client_as, auditor):
    assert client_as(auditor).get(reverse("patients:import")).status_code == 403
