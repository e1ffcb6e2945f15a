"""The roster set-up pages: shift types, coverage needs and contracts, each saved through its service with the rule
named on its field, another practice's rows out of reach, CSV lists and a page whose queries do not grow."""

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import DepartmentFactory, OrganizationFactory, UserFactory
from clinicdesk.rostering.models import Contract, CoverageNeed, ShiftType
from clinicdesk.rostering.services.setup import contract_save, coverage_need_save, shift_type_save
from clinicdesk.staff.tests.factories import SkillFactory, StaffMemberFactory

from .factories import make_unit, manager

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


@pytest.fixture
def unit(org):
    return make_unit(org, nurses=3)


@pytest.fixture
def boss(org):
    return manager(org)


def test_a_shift_type_is_saved_with_its_skills_and_a_duplicate_code_is_named(unit, boss):
    # when
    late = shift_type_save(actor=boss, department=unit.department, code="L", name="Late", start_time=time(11),
                           length_minutes=720, is_night=False, skills=[unit.charge])
    # then
    assert list(late.skills.all()) == [unit.charge] and late.hours == 12
    assert AuditEvent.objects.filter(action="roster.shift_type.created").exists()
    with pytest.raises(ValidationError) as twice:
        shift_type_save(actor=boss, department=unit.department, code="L", name="Late again", start_time=time(12),
                        length_minutes=480, is_night=False)
    assert "already has a shift coded L" in twice.value.message_dict["code"][0]
    with pytest.raises(ValidationError) as short:
        shift_type_save(actor=boss, department=unit.department, code="Q", name="Quick", start_time=time(9),
                        length_minutes=10, is_night=False)
    assert "length_minutes" in short.value.message_dict
    assert ShiftType.objects.filter(department=unit.department).count() == 4


def test_coverage_needs_belong_to_the_shifts_department_and_keep_preferred_above_minimum(unit, boss, org):
    other_department = DepartmentFactory(organization=org)
    need = coverage_need_save(actor=boss, department=unit.department, shift_type=unit.shifts["N"], skill=unit.charge,
                              location=None, weekday=5, on_date=None, minimum=1, preferred=2)
    assert need.pk and need.applies_on(__import__("datetime").date(2027, 3, 6))  # a Saturday
    with pytest.raises(ValidationError) as wrong:
        coverage_need_save(actor=boss, department=other_department, shift_type=unit.shifts["N"], skill=None,
                           location=None, weekday=None, on_date=None, minimum=1, preferred=1)
    assert "is a shift of" in wrong.value.message_dict["shift_type"][0]
    with pytest.raises(ValidationError) as below:
        coverage_need_save(actor=boss, department=unit.department, shift_type=unit.shifts["D"], skill=None,
                           location=None, weekday=None, on_date=None, minimum=3, preferred=2)
    assert "below the minimum" in below.value.message_dict["preferred"][0]


def test_another_practices_skill_or_department_is_refused(unit, boss):
    stranger = OrganizationFactory()
    with pytest.raises(ValidationError) as foreign:
        shift_type_save(actor=boss, department=DepartmentFactory(organization=stranger), code="X", name="X",
                        start_time=time(7), length_minutes=480, is_night=False)
    assert "department" in foreign.value.message_dict
    with pytest.raises(ValidationError) as foreign_skill:
        shift_type_save(actor=boss, department=unit.department, code="X", name="X", start_time=time(7),
                        length_minutes=480, is_night=False, skills=[SkillFactory(organization=stranger)])
    assert "skills" in foreign_skill.value.message_dict
    assert not ShiftType.objects.filter(code="X").exists()


def test_a_contract_names_only_the_departments_shift_codes(unit, boss, org):
    person = StaffMemberFactory(organization=org, department=unit.department)
    contract = contract_save(actor=boss, staff=person, min_hours_per_week=24, max_hours_per_week=36,
                             max_shifts_by_type={"N": 4}, max_consecutive_shifts=4, min_consecutive_shifts=2,
                             min_consecutive_days_off=2, min_rest_hours=11, max_weekends=2)
    assert contract.max_shifts_by_type == {"N": 4}
    with pytest.raises(ValidationError) as unknown:
        contract_save(actor=boss, staff=person, max_shifts_by_type={"Z": 1})
    assert "No shift coded Z" in unknown.value.message_dict["max_shifts_by_type"][0]
    with pytest.raises(ValidationError) as order:
        contract_save(actor=boss, staff=person, min_hours_per_week=40, max_hours_per_week=30)
    assert "max_hours_per_week" in order.value.message_dict
    assert Contract.objects.get(staff=person).max_hours_per_week == 36


def test_the_setup_page_lists_the_department_with_csv_and_flat_queries(unit, boss, client, org):
    client.force_login(boss)
    url = reverse("rostering:setup") + f"?department={unit.department.pk}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Night" in html and "Nurse0 Unit00" in html
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    make_unit(org, nurses=0, cover=False)  # another department changes nothing here
    for n in range(6):
        StaffMemberFactory(organization=org, department=unit.department, last_name=f"More{n}")
    coverage_need_save(actor=boss, department=unit.department, shift_type=unit.shifts["D"], skill=unit.rn,
                       location=None, weekday=0, on_date=None, minimum=1, preferred=2)
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more) == len(few)
    shifts = _text(client.get(url + "&format=csv&list=shift-types")).splitlines()
    assert shifts[0].startswith("code,name,start") and any(line.startswith("N,Night,23:00,480,yes") for line in shifts)
    contracts = _text(client.get(url + "&format=csv&list=contracts"))
    assert "More0" in contracts and "no contract" in contracts


def test_the_forms_save_refuse_and_keep_other_practices_out(unit, boss, client, org):
    client.force_login(boss)
    # a new coverage need with preferred below minimum: refused on its field, nothing saved
    before = CoverageNeed.objects.count()
    refused = client.post(reverse("rostering:coverage_need_new"), {
        "department": unit.department.pk, "shift_type": unit.shifts["E"].pk, "minimum": 3, "preferred": 1})
    assert refused.status_code == 400 and "cannot be below the minimum" in refused.content.decode()
    assert CoverageNeed.objects.count() == before
    saved = client.post(reverse("rostering:coverage_need_new"), {
        "department": unit.department.pk, "shift_type": unit.shifts["E"].pk, "minimum": 1, "preferred": 3})
    assert saved.status_code == 302 and CoverageNeed.objects.count() == before + 1
    # a contract typed as text
    person = unit.nurses[0]
    bad = client.post(reverse("rostering:contract_edit", args=[person.pk]), {
        "min_hours_per_week": "0", "max_hours_per_week": "40", "max_shifts_by_type": "N:8",
        "min_consecutive_shifts": 1, "min_consecutive_days_off": 1, "min_rest_hours": 11})
    assert bad.status_code == 400 and "is not a shift code and a number" in bad.content.decode()
    good = client.post(reverse("rostering:contract_edit", args=[person.pk]), {
        "min_hours_per_week": "0", "max_hours_per_week": "40", "max_shifts_by_type": "N=8, E=2",
        "max_consecutive_shifts": 5, "min_consecutive_shifts": 1, "min_consecutive_days_off": 1, "min_rest_hours": 11})
    assert good.status_code == 302 and Contract.objects.get(staff=person).max_shifts_by_type == {"N": 8, "E": 2}
    # another practice's rows are not found, and a nurse may not set up rosters
    stranger = manager(OrganizationFactory(), username="elsewhere")
    client.force_login(stranger)
    assert client.get(reverse("rostering:shift_type_edit", args=[unit.shifts["D"].pk])).status_code == 404
    assert client.get(reverse("rostering:contract_edit", args=[person.pk])).status_code == 404
    client.force_login(UserFactory(organization=org, role=Role.NURSE))
    assert client.get(reverse("rostering:setup")).status_code == 403
