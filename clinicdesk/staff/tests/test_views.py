"""Views: the staff pages parse, check the practice, call one service or selector and render; lists cost the same
number of queries at any size; bad input names the field and changes nothing."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.staff.choices import CredentialKind, StaffStatus
from clinicdesk.staff.models import (
    ChecklistTemplate,
    Credential,
    OnboardingPlan,
    OnboardingTask,
    Skill,
    StaffMember,
    TrainingAssignment,
)
from clinicdesk.staff.services.credentials import credential_alerts_send
from clinicdesk.staff.tests.factories import CourseFactory, CredentialFactory, StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


def _nurses(org, n, *, department=None):
    skill, _ = Skill.objects.get_or_create(organization=org, code="rn", defaults={"name": "Registered nurse"})
    course = CourseFactory(organization=org)
    template = ChecklistTemplate.objects.create(organization=org, name=f"Nurse {ChecklistTemplate.objects.count()}")
    for title in ("Badge", "Account"):
        template.items.create(title=title, course=course)
    for i in range(n):
        member = StaffMemberFactory(organization=org, department=department, manager=None)
        member.skills.add(skill)
        CredentialFactory(staff=member, expires_on=timezone.localdate() + timedelta(days=10 + i))
        TrainingAssignment.objects.create(organization=org, staff=member, course=course,
                                          due_date=timezone.localdate() - timedelta(days=i % 2))
        plan = OnboardingPlan.objects.create(organization=org, staff=member, template=template,
                                             start_date=timezone.localdate())
        for title in ("Badge", "Account"):
            OnboardingTask.objects.create(plan=plan, title=title, due_date=timezone.localdate())


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["staff:list", "staff:compliance", "staff:assignment_list", "staff:course_list",
                                  "staff:training_compliance", "staff:onboarding_board", "staff:checklist_list"])
def test_list_pages_cost_the_same_queries_at_any_size(client_as, manager, org, name):
    department = DepartmentFactory(organization=org)
    client = client_as(manager)
    _nurses(org, 3, department=department)
    client.get(reverse(name))  # the first request of a session does its own bookkeeping
    small = _count(client, reverse(name))
    _nurses(org, 20, department=DepartmentFactory(organization=org))
    assert _count(client, reverse(name)) == small


def test_staff_list_searches_filters_and_exports(client_as, manager, org, other_org):
    StaffMemberFactory(organization=org, first_name="Keisha", last_name="Moore", status=StaffStatus.ONBOARDING)
    StaffMemberFactory(organization=org, first_name="Ben", last_name="Quarrington")
    StaffMemberFactory(organization=other_org, first_name="Keisha", last_name="Elsewhere")
    client = client_as(manager)

    page = client.get(reverse("staff:list"), {"q": "keisha"}).content.decode()
    csv = b"".join(client.get(reverse("staff:list"), {"status": "onboarding", "format": "csv"}).streaming_content)

    assert "Moore" in page and "Quarrington" not in page and "Elsewhere" not in page
    lines = csv.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("last_name,first_name") and len(lines) == 2 and "Moore" in lines[1]


def test_staff_detail_tabs_are_audited_reads(client_as, manager, org):
    member = StaffMemberFactory(organization=org, last_name="Moore")
    CredentialFactory(staff=member, name="BLS", expires_on=timezone.localdate() - timedelta(days=1))
    plan = OnboardingPlan.objects.create(organization=org, staff=member, start_date=timezone.localdate(),
                                         template=ChecklistTemplate.objects.create(organization=org, name="MA"))
    OnboardingTask.objects.create(plan=plan, title="Order the badge", due_date=timezone.localdate())  # nobody owns it
    client = client_as(manager)
    for tab in ("record", "credentials", "onboarding", "training"):
        response = client.get(reverse("staff:detail", args=[member.pk]), {"tab": tab})
        assert response.status_code == 200
    assert "Expired" in client.get(reverse("staff:detail", args=[member.pk]), {"tab": "credentials"}).content.decode()
    assert AuditEvent.objects.filter(action="staff.viewed", target_id=str(member.pk)).count() == 5


def test_a_bad_npi_on_the_form_names_the_field_and_saves_nothing(client_as, manager):
    response = client_as(manager).post(reverse("staff:create"), {
        "first_name": "Ana", "last_name": "Lee", "employment_type": "full_time", "fte": "1.0", "status": "active",
        "npi": "1234567890", "dea_number": "AB1234564"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "NPI&#x27;s check digit is wrong" in body and "DEA number&#x27;s check digit is wrong" in body
    assert not StaffMember.objects.exists()


def test_a_fte_out_of_range_is_refused_on_its_field(client_as, manager):
    response = client_as(manager).post(reverse("staff:create"), {
        "first_name": "Ana", "last_name": "Lee", "employment_type": "full_time", "fte": "3", "status": "active"})
    assert response.status_code == 400
    assert 'id="id_fte-error"' in response.content.decode()
    assert not StaffMember.objects.exists()


def test_a_credential_expiring_before_it_was_issued_is_refused(client_as, manager, org):
    member = StaffMemberFactory(organization=org)
    response = client_as(manager).post(reverse("staff:credential_create", args=[member.pk]), {
        "kind": CredentialKind.CPR_BLS, "name": "BLS", "issued_on": "2026-05-01", "expires_on": "2026-01-01",
        "required": "on"})
    assert response.status_code == 400
    assert "before the issue date" in response.content.decode()
    assert not Credential.objects.exists()


def test_compliance_shows_the_alerts_sent_and_exports(client_as, manager, org):
    nursing = DepartmentFactory(organization=org, name="Nursing")
    member = StaffMemberFactory(organization=org, department=nursing, last_name="Lapsed")
    CredentialFactory(staff=member, name="RN licence", kind=CredentialKind.OTHER,
                      expires_on=timezone.localdate() + timedelta(days=20))
    credential_alerts_send(organization=org)
    client = client_as(manager)

    page = client.get(reverse("staff:compliance")).content.decode()
    csv = b"".join(client.get(reverse("staff:compliance"), {"format": "csv"}).streaming_content).decode("utf-8-sig")

    assert "Nursing" in page and "Lapsed" in page and "30 days" in page
    assert "Nursing,Lapsed" in csv and ",expiring,30" in csv


def test_my_training_shows_only_my_own_record(client_as, make_user, org):
    me = make_user(Role.FRONT_DESK, username="maria")
    mine = StaffMemberFactory(organization=org, user=me, last_name="Mine", emergency_contact_name="Carlos Lopez")
    StaffMemberFactory(organization=org, last_name="Someoneelse")
    assignment = TrainingAssignment.objects.create(organization=org, staff=mine, course=CourseFactory(organization=org),
                                                   due_date=date(2030, 1, 1))
    client = client_as(me)

    page = client.get(reverse("staff:my_training")).content.decode()
    done = client.post(reverse("staff:my_assignment_complete", args=[assignment.pk]), {"evidence_note": "Cert 77"})

    assert "Mine" in page and "Someoneelse" not in page and "Carlos Lopez" in page
    assert done.status_code == 302
    assert client.get(reverse("staff:list")).status_code == 403


def test_offboarding_from_the_page(client_as, manager, make_user, org):
    leaving = make_user(Role.NURSE, username="leaving")
    member = StaffMemberFactory(organization=org, user=leaving)
    response = client_as(manager).post(reverse("staff:offboard", args=[member.pk]), {"end_date": "2026-11-30"})
    assert response.status_code == 302
    leaving.refresh_from_db()
    assert not leaving.is_active
    bad = client_as(manager).post(reverse("staff:offboard", args=[member.pk]), {"end_date": "not a date"})
    assert bad.status_code == 400
