"""Services: staff records with checked identifiers, credentials and their alerts, onboarding, training, offboarding."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clinicdesk.communications.models import StaffTask
from clinicdesk.core import services as core_services
from clinicdesk.core.choices import Role
from clinicdesk.core.models import ApiToken, AuditEvent
from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.staff.choices import AssignmentStatus, ChecklistCategory, CredentialKind, StaffStatus, TaskStatus
from clinicdesk.staff.identifiers import dea_check_digit, dea_problem, license_problem
from clinicdesk.staff.models import ChecklistItem, CredentialAlert, OnboardingTask, StaffMember, TrainingAssignment
from clinicdesk.staff.services.credentials import credential_alerts_send, credential_save
from clinicdesk.staff.services.onboarding import checklist_apply, onboarding_task_set
from clinicdesk.staff.services.records import staff_offboard, staff_save
from clinicdesk.staff.services.training import course_save, training_assign, training_complete
from clinicdesk.staff.tests.factories import (
    ChecklistTemplateFactory,
    CourseFactory,
    CredentialFactory,
    StaffMemberFactory,
)

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="priya")


def test_dea_check_digit_follows_the_published_checksum():
    # (1 + 3 + 5) + 2 * (2 + 4 + 6) = 33: the check digit is 3
    assert dea_check_digit("123456") == "3"
    assert dea_problem("AB1234563") is None
    assert "check digit" in dea_problem("AB1234564")
    assert "2 letters and 7 digits" in dea_problem("A1234563")
    assert license_problem("NY", "123456") is None
    assert "6 digits" in license_problem("NY", "12345")
    assert "not a US state" in license_problem("ZZ", "123456")


def test_staff_save_names_every_bad_identifier_and_saves_nothing(manager):
    with pytest.raises(ValidationError) as caught:
        staff_save(actor=manager, data={"first_name": "Ana", "last_name": "Lee", "npi": "1234567890",
                                        "dea_number": "AB1234564", "taxonomy_code": "163W"})
    errors = caught.value.message_dict
    assert "check digit" in errors["npi"][0]
    assert "check digit" in errors["dea_number"][0]
    assert "taxonomy" in errors["taxonomy_code"][0]
    assert not StaffMember.objects.exists()


def test_staff_save_refuses_another_practices_department(manager, other_org):
    with pytest.raises(ValidationError) as caught:
        staff_save(actor=manager, data={"first_name": "Ana", "last_name": "Lee"},
                   department=DepartmentFactory(organization=other_org))
    assert "department" in caught.value.message_dict
    assert not StaffMember.objects.exists()


def test_staff_save_creates_a_clinician_with_an_audit_event(manager, org):
    member = staff_save(actor=manager, data={"first_name": "Ana", "last_name": "Lee", "npi": "1234567893",
                                             "dea_number": "ab1234563", "fte": Decimal("0.80"), "role": Role.CLINICIAN})
    assert member.dea_number == "AB1234563"
    assert member.organization == org
    assert AuditEvent.objects.filter(action="staff.created", target_id=str(member.pk)).exists()


def test_a_state_licence_needs_a_number_shaped_for_its_state(manager, org):
    member = StaffMemberFactory(organization=org)
    with pytest.raises(ValidationError) as caught:
        credential_save(actor=manager, member=member, data={
            "kind": CredentialKind.STATE_LICENSE, "name": "RN licence", "state": "NY", "number": "12-34",
            "expires_on": date(2027, 1, 1)})
    assert "NY licence number is 6 digits" in caught.value.message_dict["number"][0]
    assert not member.credentials.exists()


def test_a_credential_scan_must_be_a_document(manager, org):
    member = StaffMemberFactory(organization=org)
    fake = SimpleUploadedFile("licence.pdf", b"just some text, not a PDF", content_type="application/pdf")
    with pytest.raises(ValidationError) as caught:
        credential_save(actor=manager, member=member, data={"kind": CredentialKind.CPR_BLS, "name": "BLS",
                                                            "expires_on": date(2027, 1, 1)}, file=fake)
    assert "document" in caught.value.message_dict
    assert not member.credentials.exists()


def test_a_credential_with_its_scan_is_filed_and_a_new_expiry_clears_verification(manager, org, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    member = StaffMemberFactory(organization=org)
    credential = credential_save(actor=manager, member=member, data={
        "kind": CredentialKind.STATE_LICENSE, "name": "RN licence", "state": "ny", "number": "654321",
        "expires_on": date(2027, 1, 1)}, file=SimpleUploadedFile("card.png", PNG, content_type="image/png"))
    assert credential.document.content_type == "image/png"
    assert credential.state == "NY"
    credential.verified_at = timezone.now()
    credential.save()

    credential_save(actor=manager, credential=credential, data={"expires_on": date(2029, 1, 1)})

    credential.refresh_from_db()
    assert credential.verified_at is None


def test_expiry_alerts_go_once_per_threshold_to_the_person_and_their_manager(org, make_user):
    # given: a nurse with a sign-in, managed by Priya, whose BLS expires in 85 days
    today = date(2026, 11, 27)
    priya = make_user(Role.OFFICE_MANAGER, username="priya")
    boss = StaffMemberFactory(organization=org, user=priya)
    nurse_user = make_user(Role.NURSE, username="nurse")
    nurse = StaffMemberFactory(organization=org, user=nurse_user, manager=boss)
    bls = CredentialFactory(staff=nurse, expires_on=today + timedelta(days=85))

    # when the daily job runs twice
    first = credential_alerts_send(organization=org, today=today)
    again = credential_alerts_send(organization=org, today=today + timedelta(days=1))

    # then one 90-day alert, told to both, and nothing repeated
    assert (first, again) == (1, 0)
    assert list(CredentialAlert.objects.values_list("threshold_days", flat=True)) == [90]
    tasks = StaffTask.objects.filter(reference=f"credential:{bls.pk}:90")
    assert {t.assignee for t in tasks} == {priya, nurse_user}
    assert "Renew BLS of" in tasks[0].title

    # and at 59 days the 60-day alert follows, once
    assert credential_alerts_send(organization=org, today=today + timedelta(days=26)) == 1
    assert credential_alerts_send(organization=org, today=today + timedelta(days=26)) == 0
    assert sorted(CredentialAlert.objects.values_list("threshold_days", flat=True)) == [60, 90]


def test_an_expired_credential_of_someone_without_a_sign_in_goes_to_the_office_managers_inbox(org):
    CredentialFactory(staff=StaffMemberFactory(organization=org), expires_on=date(2026, 11, 1))
    assert credential_alerts_send(organization=org, today=date(2026, 11, 27)) == 1
    task = StaffTask.objects.get()
    assert task.assignee_role == Role.OFFICE_MANAGER
    assert "expired" in task.title


def _medical_assistant_checklist(org):
    template = ChecklistTemplateFactory(organization=org, name="Medical assistant", role=Role.NURSE)
    hipaa = CourseFactory(organization=org, code="hipaa", name="HIPAA", renewal_months=12)
    ChecklistItem.objects.create(template=template, position=0, title="Create the sign-in account",
                                 category=ChecklistCategory.ACCOUNT, owner_role=Role.ADMINISTRATOR, due_offset_days=-3)
    ChecklistItem.objects.create(template=template, position=1, title="HIPAA training",
                                 category=ChecklistCategory.TRAINING, due_offset_days=7, course=hipaa)
    ChecklistItem.objects.create(template=template, position=2, title="Sign the confidentiality policy",
                                 category=ChecklistCategory.POLICY, due_offset_days=1)
    return template, hipaa


def test_applying_a_checklist_gives_tasks_with_owners_due_dates_and_training(org, manager, administrator, make_user):
    # given
    template, hipaa = _medical_assistant_checklist(org)
    hire_user = make_user(Role.NURSE, username="keisha")
    hire = StaffMemberFactory(organization=org, user=hire_user)
    monday = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())

    # when
    plan = checklist_apply(actor=manager, member=hire, template=template, start_date=monday)

    # then
    tasks = list(plan.tasks.order_by("position"))
    assert [(t.title, t.owner, t.due_date) for t in tasks] == [
        ("Create the sign-in account", administrator, monday - timedelta(days=3)),
        ("HIPAA training", hire_user, monday + timedelta(days=7)),
        ("Sign the confidentiality policy", hire_user, monday + timedelta(days=1)),
    ]
    assignment = TrainingAssignment.objects.get(staff=hire)
    assert (assignment.course, assignment.due_date, tasks[1].assignment) == (hipaa, monday + timedelta(days=7), assignment)
    hire.refresh_from_db()
    assert hire.status == StaffStatus.ONBOARDING

    with pytest.raises(ValidationError) as caught:
        checklist_apply(actor=manager, member=hire, template=template, start_date=monday)
    assert "already has" in caught.value.message_dict["template"][0]
    assert OnboardingTask.objects.count() == 3


def test_completing_training_renews_it_and_ticks_the_onboarding_task(org, manager):
    # given
    template, hipaa = _medical_assistant_checklist(org)
    hire = StaffMemberFactory(organization=org)
    plan = checklist_apply(actor=manager, member=hire, template=template, start_date=timezone.localdate())
    assignment = TrainingAssignment.objects.get(staff=hire)

    # when: evidence is required
    with pytest.raises(ValidationError) as caught:
        training_complete(actor=manager, assignment=assignment)
    assert "evidence" in caught.value.message_dict
    done_on = timezone.localdate()
    training_complete(actor=manager, assignment=assignment, evidence_note="Certificate 4411")

    # then: next year's HIPAA is assigned, and the onboarding task is done
    renewal = TrainingAssignment.objects.get(staff=hire, status=AssignmentStatus.ASSIGNED)
    assert renewal.due_date.year == done_on.year + 1
    assert plan.tasks.get(title="HIPAA training").status == TaskStatus.DONE
    for task in plan.tasks.filter(status=TaskStatus.OPEN):
        onboarding_task_set(actor=manager, task=task, done=True)
    hire.refresh_from_db()
    assert hire.status == StaffStatus.ACTIVE


def test_training_assign_keeps_an_open_assignment_and_refuses_a_past_due_date(org, manager):
    course = course_save(actor=manager, data={"code": "osha", "name": "OSHA", "renewal_months": 12,
                                              "days_to_complete": 30})
    member = StaffMemberFactory(organization=org)
    first = training_assign(actor=manager, members=[member], course=course)
    assert training_assign(actor=manager, members=[member], course=course) == first
    with pytest.raises(ValidationError) as caught:
        training_assign(actor=manager, members=[member], course=course, due_date=date(2020, 1, 1))
    assert "due_date" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        course_save(actor=manager, data={"code": "osha", "name": "Again"})
    assert "code" in caught.value.message_dict


def test_offboarding_turns_everything_off_at_once_and_keeps_the_record(org, manager, make_user, client):
    # given: a signed-in nurse with an API token, open onboarding and training
    template, _ = _medical_assistant_checklist(org)
    nurse_user = make_user(Role.NURSE, username="leaving")
    member = StaffMemberFactory(organization=org, user=nurse_user, hire_date=date(2024, 1, 1))
    checklist_apply(actor=manager, member=member, template=template, start_date=timezone.localdate())
    core_services.api_token_create(user=nurse_user, name="phone", scopes=["dashboard.view"], days=30)
    session = SessionStore()
    session["_auth_user_id"] = str(nurse_user.pk)
    session.create()

    # when
    staff_offboard(actor=manager, member=member, end_date=timezone.localdate(), reason="Moved away")

    # then
    nurse_user.refresh_from_db()
    member.refresh_from_db()
    assert nurse_user.is_active is False
    assert not Session.objects.filter(session_key=session.session_key).exists()
    assert not ApiToken.objects.filter(user=nurse_user, revoked_at__isnull=True).exists()
    assert not OnboardingTask.objects.filter(plan__staff=member, status=TaskStatus.OPEN).exists()
    assert not TrainingAssignment.objects.filter(staff=member, status=AssignmentStatus.ASSIGNED).exists()
    assert (member.status, member.end_date) == (StaffStatus.OFFBOARDED, timezone.localdate())
    event = AuditEvent.objects.get(action="staff.offboarded")
    assert "1 API token(s) revoked" in event.summary

    with pytest.raises(ValidationError):
        staff_offboard(actor=manager, member=member, end_date=timezone.localdate())
