from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory

from .. import demo_tasks
from ..choices import StaffTaskKind, StaffTaskStatus
from ..models import InboundMessage, StaffTask, TaskNote
from ..selectors.staff_tasks import staff_task_counts, staff_task_inbox, staff_task_open_count
from ..services.tasks import (
    call_task_create,
    staff_task_assign,
    staff_task_cancel,
    staff_task_complete,
    staff_task_create,
    staff_task_note_add,
    staff_task_reopen,
)
from .factories_links import StaffTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse(make_user):
    return make_user(Role.NURSE, username="nurse1")


# --- services ------------------------------------------------------------------------------------------------


def test_a_task_about_an_appointment_takes_its_patient_and_is_audited(org, front_desk, nurse):
    visit = AppointmentFactory(organization=org)
    task = staff_task_create(actor=front_desk, title="Call about the lab", kind=StaffTaskKind.CALL, assignee=nurse,
                             due_on=date(2027, 3, 12), appointment=visit, reference="Claim 2026-00042")
    assert task.patient_id == visit.patient_id and task.organization_id == org.pk and task.created_by == front_desk
    event = AuditEvent.objects.get(action="staff_task.created")
    assert event.actor_id == front_desk.pk and event.patient_id == visit.patient_id


@pytest.mark.parametrize(("values", "field"), [
    ({"title": "  "}, "title"),
    ({"kind": "fax"}, "kind"),
    ({"assignee_role": ""}, "assignee"),
    ({"assignee_role": Role.AUDITOR}, "assignee_role"),
    ({"assignee_role": "janitor"}, "assignee_role"),
    ({"details": "x" * 4001}, "details"),
])
def test_bad_input_names_the_field_and_saves_nothing(front_desk, values, field):
    kwargs = {"title": "Call back", "kind": StaffTaskKind.FOLLOW_UP, "assignee_role": Role.FRONT_DESK} | values
    with pytest.raises(ValidationError) as caught:
        staff_task_create(actor=front_desk, **kwargs)
    assert field in caught.value.message_dict
    assert not StaffTask.objects.exists()


def test_another_practices_patient_colleague_or_appointment_is_refused(org, other_org, front_desk, make_user):
    stranger = PatientFactory(organization=other_org)
    outsider = make_user(Role.FRONT_DESK, organization=other_org, username="outsider")
    visit = AppointmentFactory(organization=other_org)
    for extra, field in (({"patient": stranger}, "patient"), ({"assignee": outsider}, "assignee"),
                         ({"appointment": visit}, "appointment")):
        with pytest.raises(ValidationError) as caught:
            staff_task_create(actor=front_desk, title="x", kind=StaffTaskKind.OTHER, assignee_role=Role.FRONT_DESK, **extra)
        assert field in caught.value.message_dict
    mine = PatientFactory(organization=org)
    with pytest.raises(ValidationError, match="another patient"):
        staff_task_create(actor=front_desk, title="x", kind=StaffTaskKind.OTHER, assignee_role=Role.FRONT_DESK,
                          patient=mine, appointment=AppointmentFactory(organization=org))
    assert not StaffTask.objects.exists()


def test_done_reopen_cancel_and_notes(org, front_desk, nurse):
    # given an open task
    task = staff_task_create(actor=front_desk, title="Fax the referral", kind=StaffTaskKind.OTHER, assignee=nurse)
    # when the nurse does it with a note
    staff_task_complete(actor=nurse, task=task, note="Faxed at 10:00")
    task.refresh_from_db()
    assert task.status == StaffTaskStatus.DONE and task.completed_by == nurse and task.completed_at is not None
    assert TaskNote.objects.get(task=task).text == "Faxed at 10:00"
    # then it cannot be done twice, but can be reopened and then cancelled
    with pytest.raises(ValidationError, match="already done"):
        staff_task_complete(actor=nurse, task=task)
    staff_task_reopen(actor=front_desk, task=task)
    task.refresh_from_db()
    assert task.status == StaffTaskStatus.OPEN and task.completed_by is None
    with pytest.raises(ValidationError, match="already open"):
        staff_task_reopen(actor=front_desk, task=task)
    staff_task_cancel(actor=front_desk, task=task, reason="Sent by mail instead")
    task.refresh_from_db()
    assert task.status == StaffTaskStatus.CANCELLED
    note = staff_task_note_add(actor=nurse, task=task, text="  Mail goes out Friday  ")
    assert note.text == "Mail goes out Friday" and note.author == nurse
    assert [n.text for n in task.notes.order_by("id")][-2:] == ["Cancelled: Sent by mail instead", "Mail goes out Friday"]
    assert {"staff_task.completed", "staff_task.reopened", "staff_task.cancelled", "staff_task.note_added"} <= set(
        AuditEvent.objects.values_list("action", flat=True))


def test_notes_and_changes_from_another_practice_are_refused(org, other_org, front_desk, make_user):
    outsider = make_user(Role.FRONT_DESK, organization=other_org, username="outsider")
    task = StaffTaskFactory(organization=org)
    for act in (lambda: staff_task_complete(actor=outsider, task=task), lambda: staff_task_reopen(actor=outsider, task=task),
                lambda: staff_task_cancel(actor=outsider, task=task),
                lambda: staff_task_assign(actor=outsider, task=task, assignee_role=Role.NURSE),
                lambda: staff_task_note_add(actor=outsider, task=task, text="hi")):
        with pytest.raises(ValidationError, match="No such task"):
            act()
    with pytest.raises(ValidationError) as caught:
        staff_task_note_add(actor=front_desk, task=task, text="   ")
    assert "text" in caught.value.message_dict
    assert not TaskNote.objects.exists()


def test_handing_on(front_desk, nurse):
    task = StaffTaskFactory(organization=front_desk.organization)
    staff_task_assign(actor=front_desk, task=task, assignee=nurse, assignee_role="")
    task.refresh_from_db()
    assert task.assignee == nurse and task.assignee_role == ""
    with pytest.raises(ValidationError) as caught:
        staff_task_assign(actor=front_desk, task=task)
    assert "assignee" in caught.value.message_dict


def test_a_call_task_is_for_the_front_desk_today_and_made_once(org):
    patient = PatientFactory(organization=org, phone_mobile="+12025550123")
    first = call_task_create(patient=patient, reason="Reminder by phone")
    again = call_task_create(patient=patient, reason="Reminder by phone")
    assert first.pk == again.pk and StaffTask.objects.count() == 1
    assert first.kind == StaffTaskKind.CALL and first.assignee_role == Role.FRONT_DESK
    assert first.due_on == timezone.localdate() and first.created_by is None
    assert AuditEvent.objects.get(action="staff_task.created").actor_id is None


# --- selectors --------------------------------------------------------------------------------------------------


def test_the_inbox_holds_mine_and_my_roles_tasks_of_my_practice(org, other_org, front_desk, nurse):
    today = timezone.localdate()
    mine = StaffTaskFactory(organization=org, assignee=front_desk, assignee_role="", due_on=today)
    roles = StaffTaskFactory(organization=org, assignee_role=Role.FRONT_DESK, due_on=today - timedelta(days=2))
    StaffTaskFactory(organization=org, assignee=nurse, assignee_role="")
    StaffTaskFactory(organization=org, assignee_role=Role.NURSE)
    StaffTaskFactory(organization=other_org, assignee_role=Role.FRONT_DESK)
    later = StaffTaskFactory(organization=org, assignee_role=Role.FRONT_DESK, due_on=today + timedelta(days=5))
    undated = StaffTaskFactory(organization=org, assignee_role=Role.FRONT_DESK)
    StaffTaskFactory(organization=org, assignee_role=Role.FRONT_DESK, status=StaffTaskStatus.DONE)
    assert list(staff_task_inbox(actor=front_desk)) == [roles, mine, later, undated]
    assert list(staff_task_inbox(actor=front_desk, mine_only=True)) == [mine]
    assert list(staff_task_inbox(actor=front_desk, due="overdue")) == [roles]
    assert list(staff_task_inbox(actor=front_desk, due="today")) == [mine]
    assert list(staff_task_inbox(actor=front_desk, due="week")) == [mine, later]
    assert len(staff_task_inbox(actor=front_desk, status="")) == 5
    assert staff_task_open_count(actor=front_desk) == 4
    assert staff_task_counts(actor=front_desk) == {"open": 4, "mine": 1, "overdue": 1}


def test_inbox_filters_are_checked(front_desk):
    with pytest.raises(ValidationError) as caught:
        staff_task_inbox(actor=front_desk, status="later", kind="fax", due="someday")
    assert set(caught.value.message_dict) == {"status", "kind", "due"}


def test_no_permission_no_tasks(org, auditor):
    StaffTaskFactory(organization=org, assignee_role=Role.AUDITOR)
    assert not staff_task_inbox(actor=auditor).exists()


# --- pages --------------------------------------------------------------------------------------------------


def test_the_inbox_page_does_not_grow_its_queries_with_rows(org, client_as, front_desk):
    client = client_as(front_desk)
    url = reverse("communications:staff_tasks")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    patient = PatientFactory(organization=org)
    StaffTaskFactory(organization=org, patient=patient, kind=StaffTaskKind.CALL)
    queries()  # the first request also loads what is cached afterwards (session, content types)
    few = queries()
    for _ in range(8):
        StaffTaskFactory(organization=org, patient=PatientFactory(organization=org), assignee=front_desk,
                         appointment=AppointmentFactory(organization=org), due_on=timezone.localdate())
    assert queries() == few


def test_the_inbox_shows_call_tasks_with_phone_numbers_and_bad_filters_say_so(org, client_as, front_desk):
    patient = PatientFactory(organization=org, phone_mobile="+12025550177", phone_home="+12025550178")
    call_task_create(patient=patient, reason="Patient asked to reschedule by text")
    client = client_as(front_desk)
    body = client.get(reverse("communications:staff_tasks")).content.decode()
    assert "Patient asked to reschedule by text" in body and "+12025550177" in body and "+12025550178" in body
    assert AuditEvent.objects.filter(action="patient.listed", patient_id=patient.pk).exists()
    response = client.get(reverse("communications:staff_tasks"), {"due": "someday"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_the_csv_export_lists_the_inbox_and_is_audited(org, client_as, front_desk):
    patient = PatientFactory(organization=org, last_name="Okafor")
    StaffTaskFactory(organization=org, patient=patient, title="=Call Okafor", reference="Claim 7")
    response = client_as(front_desk).get(reverse("communications:staff_task_export"))
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200 and "'=Call Okafor" in body and "Claim 7" in body and "Okafor" in body
    assert AuditEvent.objects.filter(action="patient.exported", patient_id=patient.pk).exists()
    assert AuditEvent.objects.filter(action="staff_tasks.exported").exists()


def test_a_task_from_the_patient_page_has_the_patient_and_errors_name_the_field(org, client_as, front_desk, nurse):
    patient = PatientFactory(organization=org)
    client = client_as(front_desk)
    url = reverse("communications:staff_task_create") + f"?patient={patient.public_id}"
    assert patient.last_name in client.get(url).content.decode()
    bad = client.post(url, {"title": "", "kind": StaffTaskKind.REVIEW, "assignee_role": Role.NURSE})
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    nobody = client.post(url, {"title": "Check the form", "kind": StaffTaskKind.REVIEW})
    assert nobody.status_code == 400 and "Give the task to a person or to a role" in nobody.content.decode()
    assert not StaffTask.objects.exists()
    response = client.post(url, {"title": "Check the form", "kind": StaffTaskKind.REVIEW, "assignee": nurse.pk,
                                 "due_on": "2031-05-06"})
    task = StaffTask.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("communications:staff_task_detail", args=[task.pk])
    assert task.patient == patient and task.assignee == nurse and task.due_on == date(2031, 5, 6)


def test_the_new_task_page_finds_the_patient_first(org, client_as, front_desk):
    PatientFactory(organization=org, last_name="Zamora", first_name="Ines")
    client = client_as(front_desk)
    page = client.get(reverse("communications:staff_task_create"), {"q": "Zamora"}).content.decode()
    assert "Zamora, Ines" in page
    assert "What is to be done" in client.get(reverse("communications:staff_task_create"), {"no_patient": "1"}).content.decode()


def test_the_task_page_notes_and_buttons(org, client_as, front_desk):
    patient = PatientFactory(organization=org)
    task = StaffTaskFactory(organization=org, patient=patient, title="Ask about the form")
    client = client_as(front_desk)
    detail = reverse("communications:staff_task_detail", args=[task.pk])
    assert "Ask about the form" in client.get(detail).content.decode()
    assert AuditEvent.objects.filter(action="staff_task.viewed", patient_id=patient.pk).exists()
    client.post(reverse("communications:staff_task_note", args=[task.pk]), {"text": "Left a voicemail"})
    client.post(reverse("communications:staff_task_complete", args=[task.pk]), {"note": ""})
    page = client.get(detail).content.decode()
    assert "Left a voicemail" in page and "Reopen" in page
    again = client.post(reverse("communications:staff_task_complete", args=[task.pk]), follow=True)
    assert "already done" in again.content.decode()
    client.post(reverse("communications:staff_task_reopen", args=[task.pk]))
    task.refresh_from_db()
    assert task.status == StaffTaskStatus.OPEN


def test_another_practices_task_is_not_found(other_org, client_as, front_desk):
    task = StaffTaskFactory(organization=other_org)
    client = client_as(front_desk)
    assert client.get(reverse("communications:staff_task_detail", args=[task.pk])).status_code == 404
    assert client.post(reverse("communications:staff_task_complete", args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.status == StaffTaskStatus.OPEN


def test_the_demo_fills_the_inbox_once(org, make_user):
    # given a small practice with the demo's staff and a few upcoming visits
    users = {name: make_user(role, username=name) for name, role in (
        ("maria", Role.FRONT_DESK), ("jamal", Role.NURSE), ("devon", Role.BILLER), ("priya", Role.OFFICE_MANAGER),
        ("drchen", Role.CLINICIAN))}
    for _ in range(12):
        AppointmentFactory(organization=org)
    ctx = SimpleNamespace(organization=org, users=users)
    # when the demo runs twice
    added = demo_tasks.seed(ctx, patients=12, seed=7)
    assert demo_tasks.seed(ctx, patients=12, seed=7) == 0
    # then the front desk has open tasks, one overdue, and the replies are on record
    assert added > 10
    counts = staff_task_counts(actor=users["maria"])
    assert counts["open"] >= 3 and counts["overdue"] >= 1
    assert StaffTask.objects.filter(status=StaffTaskStatus.DONE).count() == 2
    assert InboundMessage.objects.count() == 3
