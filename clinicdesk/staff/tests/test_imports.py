"""The staff list's import (CSV or XLSX, dry run first, all or nothing) and its CSV/XLSX downloads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tables import table_read
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.core.tests.spreadsheets import xlsx_of
from clinicdesk.staff.models import Skill, StaffMember
from clinicdesk.staff.services.imports import staff_import
from clinicdesk.staff.tests.factories import StaffMemberFactory

HEADER = "last_name,first_name,job_title,department,fte,email,skills\n"


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


@pytest.fixture
def lab(org):
    return DepartmentFactory(organization=org, code="LAB", name="Laboratory")


def test_a_dry_run_saves_nothing_and_an_import_adds_through_the_service_and_audits(manager, lab, org):
    Skill.objects.create(organization=org, code="rn", name="Registered nurse")
    text = HEADER + "Moore,Keisha,Nurse,Laboratory,0.80,keisha@example.com,rn\n"
    preview = staff_import(file=text, actor=manager, dry_run=True)
    assert [(r.line, r.outcome) for r in preview.rows] == [(2, "new")] and not StaffMember.objects.exists()
    result = staff_import(file=text, actor=manager, dry_run=False)
    member = StaffMember.objects.get()
    assert result.saved and member.department == lab and member.fte == Decimal("0.80")
    assert list(member.skills.values_list("code", flat=True)) == ["rn"]
    assert AuditEvent.objects.filter(action="staff.created", actor=manager).count() == 1
    assert AuditEvent.objects.get(action="staff.imported").changes["counts"]["new"] == 1


def test_one_bad_line_saves_nothing_and_each_error_names_its_line_and_column(manager, lab):
    # given a good line, an unknown department and skill, and an FTE only the model refuses
    text = (HEADER + "Moore,Keisha,Nurse,LAB,1,k@example.com,\nAdams,Ben,,Dentistry,1,,juggling\n"
            "Cole,Cy,,,9,c@example.com,\n")
    # when
    result = staff_import(file=text, actor=manager, dry_run=False)
    # then
    assert not result.saved and not StaffMember.objects.exists()
    assert result.rows[1].messages == ["Line 3, column department: Dentistry is not a department of the practice.",
                                       "Line 3, column skills: juggling is not a skill of the practice."]
    assert result.rows[2].message.startswith("Line 4, column fte:")
    assert result.rows[0].outcome == "new"


def test_staff_are_matched_by_email_else_by_name_and_changes_are_updates(manager, org):
    keisha = StaffMemberFactory(organization=org, first_name="Keisha", last_name="Moore", email="k@example.com",
                                job_title="Nurse")
    StaffMemberFactory(organization=org, first_name="Ben", last_name="Adams", email="", job_title="Biller")
    text = ("last_name,first_name,job_title,email\nMoore,Keisha,Charge nurse,K@example.com\nAdams,Ben,Biller,\n"
            "Adams,Ben,Biller,\n")
    result = staff_import(file=text, actor=manager, dry_run=True)
    assert [r.outcome for r in result.rows] == ["updated", "unchanged", "error"]
    assert result.rows[2].message == "Line 4, column last_name: the same name as line 3."
    assert staff_import(file=text.rsplit("Adams", 1)[0], actor=manager, dry_run=False).saved
    keisha.refresh_from_db()
    assert keisha.job_title == "Charge nurse" and StaffMember.objects.count() == 2


def test_xlsx_and_csv_give_the_same_result(manager, lab):
    text = HEADER + "Moore,Keisha,Nurse,LAB,1,k@example.com,\nAdams,Ben,,Nowhere,x,,\n"
    from_csv = staff_import(file=text, actor=manager, dry_run=True)
    from_xlsx = staff_import(file=xlsx_of(text), actor=manager, dry_run=True)
    assert [(r.line, r.outcome, r.message) for r in from_xlsx.rows] == [(r.line, r.outcome, r.message) for r in from_csv.rows]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_exported_list_re_imports_as_unchanged(client_as, manager, org, lab, kind):
    # given staff with a department, a manager, skills, a hire date and a fraction of full time
    rn = Skill.objects.create(organization=org, code="rn", name="Registered nurse")
    boss = StaffMemberFactory(organization=org, first_name="Priya", last_name="Raman", email="p@example.com")
    for n in range(3):
        member = StaffMemberFactory(organization=org, first_name=f"N{n}", last_name="Nurse", department=lab,
                                    manager=boss, fte=Decimal("0.75"), email=f"n{n}@example.com", phone="+12025550100")
        member.skills.add(rn)
    # when the list is downloaded and imported again
    response = client_as(manager).get(reverse("staff:list"), {"format": kind})
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert len(table_read(content).rows) == 4
    result = staff_import(file=content, actor=manager, dry_run=True)
    # then
    assert result.counts == {"new": 0, "updated": 0, "unchanged": 4, "error": 0}, [r.message for r in result.rows]


def test_the_xlsx_download_costs_the_same_queries_at_any_size(client_as, manager, org, lab):
    client = client_as(manager)
    StaffMemberFactory.create_batch(2, organization=org, department=lab)
    client.get(reverse("staff:list"), {"format": "xlsx"})  # the first request of a session does its own bookkeeping
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("staff:list"), {"format": "xlsx"})
    StaffMemberFactory.create_batch(8, organization=org, department=lab)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("staff:list"), {"format": "xlsx"})
    assert len(table_read(response.content).rows) == 10
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_import_page_previews_then_imports_and_needs_the_right_to_manage_staff(client_as, manager, make_user):
    client = client_as(manager)
    page = reverse("staff:import")
    assert 'href="/staff/import/"' in client.get(reverse("staff:list")).content.decode()
    preview = client.post(page, {"step": "preview", "file": SimpleUploadedFile("s.csv", b"last_name,first_name\nMoore,Keisha\n")})
    assert preview.status_code == 200 and "Import 1 row" in preview.content.decode()
    done = client.post(page, {"step": "import", "content": preview.context["confirm"].initial["content"]})
    assert done.status_code == 302 and StaffMember.objects.filter(last_name="Moore").exists()
    assert client_as(make_user(Role.FRONT_DESK, username="desk")).get(page).status_code == 403
