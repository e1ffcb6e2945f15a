"""Communication (outbox messages to patients and printed letters) and Task (the staff task list): mapped and validated
against the R4B models; searched by their parameters and paged; audited as reads of the patient's data; never another
practice's; refused without the role's permissions or the scope; pages cost the same queries whatever their size;
exported in bulk."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication as FhirCommunication
from fhir.resources.R4B.task import Task as FhirTask

from clinicdesk.communications.choices import (
    LetterDelivery,
    LetterStatus,
    MessageChannel,
    MessagePurpose,
    MessageState,
    StaffTaskKind,
    StaffTaskStatus,
)
from clinicdesk.communications.models import Letter, MessageAttachment, TaskNote
from clinicdesk.communications.tests.factories_links import MessageFactory, StaffTaskFactory
from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.fhir.exporting import PATIENT_TYPES
from clinicdesk.patients.tests.factories import DocumentFactory, PatientFactory
from clinicdesk.scheduling.tests.factories import AppointmentFactory, Clinic

from .conftest import expressions, issues, valid

pytestmark = pytest.mark.django_db
_hours = itertools.count()
PURPOSES = "urn:clinicdesk:message-purpose"
MODES = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"


def ids(response) -> list[str]:
    return [e["resource"]["id"] for e in valid(Bundle, response).get("entry", [])]


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=UTC)


def message(clinic, **fields):
    fields.setdefault("patient", clinic.patient)
    return MessageFactory(organization=clinic.organization, **fields)


def printed_letter(clinic, patient=None, **fields) -> Letter:
    patient = patient or clinic.patient
    document = DocumentFactory(patient=patient, title="Results letter.pdf")
    fields.setdefault("delivery", LetterDelivery.PRINTED)
    return Letter.objects.create(organization=clinic.organization, patient=patient, subject="Your results",
                                 body_html="<p>Dear Ann,</p><p>Your results are <b>normal</b>.</p>",
                                 status=LetterStatus.FINAL, document=document, finalized_at=at(8), **fields)


def visit(clinic, patient):
    """A visit with the clinic's provider, each an hour after the last made (the provider is never double booked)."""
    starts = at(20) + timedelta(hours=next(_hours))
    return AppointmentFactory(organization=clinic.organization, patient=patient, provider=clinic.provider,
                              location=clinic.location, appointment_type=clinic.kind, starts_at=starts)


def task(clinic, **fields):
    return StaffTaskFactory(organization=clinic.organization, **fields)


# --- Communication ---------------------------------------------------------------------------------------------


def test_an_e_mail_about_an_appointment(fhir, clinic):
    # given a delivered reminder e-mail with a subject and a PDF attached
    seen = visit(clinic, clinic.patient)
    sent = message(clinic, channel=MessageChannel.EMAIL, purpose=MessagePurpose.REMINDER, state=MessageState.DELIVERED,
                   subject="Your visit on Monday", body="See you Monday at 9:00.", appointment=seen,
                   sent_at=at(9, 10), delivered_at=at(9, 11))
    MessageAttachment.objects.create(message=sent, filename="directions.pdf", content_type="application/pdf", size=3,
                                     sha256="0" * 64, file=ContentFile(b"%PD", name="directions.pdf"))
    # when
    body = valid(FhirCommunication, fhir.get(f"Communication/{sent.public_id}"))
    # then
    patient = {"reference": f"Patient/{clinic.patient.public_id}", "display": clinic.patient.display_name}
    assert body["status"] == "completed" and "statusReason" not in body
    assert body["category"] == [{"coding": [{"system": PURPOSES, "code": "reminder", "display": "Appointment reminder"}],
                                 "text": "Appointment reminder"}]
    assert body["medium"][0]["coding"] == [{"system": MODES, "code": "EMAILWRIT"}]
    assert body["subject"] == patient and body["recipient"] == [patient]
    assert body["sender"] == {"reference": f"Organization/{clinic.organization.pk}", "display": clinic.organization.name}
    assert body["about"] == [{"reference": f"Appointment/{seen.public_id}"}]
    assert body["sent"] == "2027-03-09T10:00:00Z" and body["received"] == "2027-03-09T11:00:00Z"
    assert body["payload"] == [
        {"contentString": "Your visit on Monday"}, {"contentString": "See you Monday at 9:00."},
        {"contentAttachment": {"contentType": "application/pdf", "title": "directions.pdf"}},
    ]
    assert "url" not in json.dumps(body["payload"]) and "data" not in body["payload"][2]["contentAttachment"]


@pytest.mark.parametrize(("state", "status"), [
    (MessageState.QUEUED, "preparation"), (MessageState.SENDING, "in-progress"), (MessageState.SENT, "completed"),
    (MessageState.FAILED, "stopped"), (MessageState.BOUNCED, "stopped"), (MessageState.SUPPRESSED, "not-done"),
])
def test_message_states_as_event_status(fhir, clinic, state, status):
    text = message(clinic, state=state, reason="The patient opted out of text messages.")
    body = valid(FhirCommunication, fhir.get(f"Communication/{text.public_id}"))
    assert body["status"] == status and body["medium"][0]["coding"][0]["code"] == "MSGWRIT"
    assert ("statusReason" in body) == (status in ("stopped", "not-done"))
    assert body["payload"] == [{"contentString": "See you soon"}] and "about" not in body and "sent" not in body


def test_a_printed_letter_is_a_communication_by_post(fhir, clinic):
    letter = printed_letter(clinic)
    body = valid(FhirCommunication, fhir.get(f"Communication/letter-{letter.public_id}"))
    assert body["id"] == f"letter-{letter.public_id}" and body["status"] == "completed"
    assert body["medium"][0]["coding"] == [{"system": MODES, "code": "MAILWRIT"}]
    assert body["category"][0]["coding"][0]["code"] == "letter"
    assert body["payload"] == [
        {"contentString": "Your results"}, {"contentString": "Dear Ann,\n\nYour results are normal."},
        {"contentAttachment": {"contentType": "application/pdf", "title": "Results letter.pdf"}},
    ]
    event = AuditEvent.objects.get(action="letter.viewed")
    assert event.patient_id == clinic.patient.pk and event.channel == AuditChannel.API


def test_drafts_unprinted_letters_and_messages_to_no_patient_are_not_communications(fhir, clinic):
    draft = Letter.objects.create(organization=clinic.organization, patient=clinic.patient, subject="Draft",
                                  body_html="<p>x</p>")
    e_mailed = printed_letter(clinic, delivery=LetterDelivery.EMAILED)
    to_staff = message(clinic, patient=None, to_address="+12025550100")
    for resource_id in (f"letter-{draft.public_id}", f"letter-{e_mailed.public_id}", to_staff.public_id):
        assert fhir.get(f"Communication/{resource_id}").status_code == 404
    assert ids(fhir.get("Communication")) == []


def test_reading_a_message_is_audited_as_the_patients_data(fhir, clinic):
    text = message(clinic)
    fhir.get(f"Communication/{text.public_id}")
    event = AuditEvent.objects.get(action="message.viewed")
    assert event.patient_id == clinic.patient.pk and event.actor_id == clinic.actor.pk
    assert event.channel == AuditChannel.API and event.target_id == str(text.pk)


def test_communication_search_filters(fhir, clinic):
    # given messages of two patients in several states and purposes, and a printed letter
    other = PatientFactory(organization=clinic.organization)
    reminder = message(clinic, purpose=MessagePurpose.REMINDER, state=MessageState.DELIVERED, sent_at=at(3))
    balance = message(clinic, purpose=MessagePurpose.BALANCE, state=MessageState.SENT, sent_at=at(6))
    queued = message(clinic, patient=other, purpose=MessagePurpose.REMINDER, state=MessageState.QUEUED)
    bounced = message(clinic, patient=other, purpose=MessagePurpose.RECALL, state=MessageState.BOUNCED, sent_at=at(8))
    letter = printed_letter(clinic, patient=other)
    letter_id = f"letter-{letter.public_id}"

    def found(params) -> set[str]:
        return set(ids(fhir.get("Communication", params)))

    # then
    assert found({}) == {reminder.public_id, balance.public_id, queued.public_id, bounced.public_id, letter_id}
    assert found({"patient": f"Patient/{clinic.patient.public_id}"}) == {reminder.public_id, balance.public_id}
    assert found({"patient": other.public_id}) == {queued.public_id, bounced.public_id, letter_id}
    assert found({"status": "completed"}) == {reminder.public_id, balance.public_id, letter_id}
    assert found({"status": "preparation,stopped"}) == {queued.public_id, bounced.public_id}
    assert found({"status": "entered-in-error"}) == set()
    assert found({"category": "reminder"}) == {reminder.public_id, queued.public_id}
    assert found({"category": f"{PURPOSES}|letter"}) == {letter_id}
    assert found({"category": "urn:other|reminder"}) == set()
    assert found({"sent": "2027-03-06"}) == {balance.public_id}
    assert found({"sent": ["ge2027-03-04", "lt2027-03-09"]}) == {balance.public_id, bounced.public_id}
    assert found({"sent": "lt2027-03-04"}) == {reminder.public_id}
    assert found({"_id": f"{reminder.public_id},{letter_id}"}) == {reminder.public_id, letter_id}
    assert found({"_id": letter_id, "status": "completed", "patient": other.public_id}) == {letter_id}


@pytest.mark.parametrize(("params", "name"), [
    ({"status": "sent"}, "status"), ({"category": "spam"}, "category"), ({"patient": "Practitioner/1"}, "patient"),
    ({"sent": "bogus"}, "sent"), ({"sent": "sa2027-01-01"}, "sent"), ({"medium": "EMAILWRIT"}, "medium"),
    ({"category": "reminder,"}, "category"), ({"status:not": "completed"}, "status:not"),
])
def test_bad_communication_parameters_are_named(fhir, clinic, params, name):
    message(clinic)
    response = fhir.get("Communication", params)
    assert response.status_code == 400 and expressions(response) == [name]
    assert not AuditEvent.objects.filter(action="message.listed").exists()


def test_communication_pages_run_through_messages_then_letters_and_audit_each_page(fhir, clinic):
    # given three messages and two printed letters
    texts = [message(clinic) for _ in range(3)]
    letters = [printed_letter(clinic) for _ in range(2)]
    # when paged two at a time
    pages = [valid(Bundle, fhir.get("Communication", {"_count": 2, "_page": n})) for n in (1, 2, 3)]
    # then every one once, messages first, with the links
    seen = [e["resource"]["id"] for page in pages for e in page["entry"]]
    assert sorted(seen[:3]) == sorted(m.public_id for m in texts)
    assert sorted(seen[3:]) == sorted(f"letter-{x.public_id}" for x in letters)
    assert all(page["total"] == 5 for page in pages)
    assert {link["relation"] for link in pages[1]["link"]} == {"self", "first", "previous", "next", "last"}
    assert "next" not in {link["relation"] for link in pages[2]["link"]}
    # and each row returned was audited once, under its own action, with its patient
    listed = AuditEvent.objects.filter(action__in=("message.listed", "letter.listed"))
    assert listed.filter(action="message.listed").count() == 3 and listed.filter(action="letter.listed").count() == 2
    assert all(e.patient_id == clinic.patient.pk and e.channel == AuditChannel.API for e in listed)


def test_another_practices_communications_are_never_seen(fhir, clinic):
    other = Clinic.build()
    theirs = message(other)
    their_letter = printed_letter(other)
    mine = message(clinic)
    assert fhir.get(f"Communication/{theirs.public_id}").status_code == 404
    assert fhir.get(f"Communication/letter-{their_letter.public_id}").status_code == 404
    assert ids(fhir.get("Communication")) == [mine.public_id]
    assert ids(fhir.get("Communication", {"patient": other.patient.public_id})) == []
    reads = ("message.viewed", "message.listed", "letter.viewed", "letter.listed")
    assert not AuditEvent.objects.filter(patient_id=other.patient.pk, action__in=reads).exists()


def test_a_merged_away_patients_messages_are_not_served(fhir, clinic):
    survivor = PatientFactory(organization=clinic.organization)
    merged = PatientFactory(organization=clinic.organization, merged_into=survivor)
    assert fhir.get(f"Communication/{message(clinic, patient=merged).public_id}").status_code == 404


def test_communication_needs_the_scope_and_both_permissions(fhir_as, clinic):
    text = message(clinic)
    response = fhir_as(clinic.actor, scopes=["user/Patient.read"]).get(f"Communication/{text.public_id}")
    assert response.status_code == 403 and "user/Communication.read" in issues(response)[0]["diagnostics"]
    auditor = UserFactory(organization=clinic.organization, role=Role.AUDITOR)
    response = fhir_as(auditor, scopes=["user/*.read"]).get("Communication")
    assert response.status_code == 403 and issues(response)[0]["code"] == "forbidden"
    assert AuditEvent.objects.filter(action="access.denied").count() == 2
    assert not AuditEvent.objects.filter(action__startswith="message.").exists()
    assert fhir_as(clinic.actor, scopes=["user/Communication.read"]).get("Communication").status_code == 200


def test_a_communication_page_costs_the_same_queries_whatever_its_size(fhir, clinic):
    def add(count):
        for _ in range(count):
            patient = PatientFactory(organization=clinic.organization)
            text = message(clinic, patient=patient, channel=MessageChannel.EMAIL, subject="Hello",
                           appointment=visit(clinic, patient))
            MessageAttachment.objects.create(message=text, filename="a.pdf", content_type="application/pdf", size=3,
                                             sha256="0" * 64, file=ContentFile(b"%PD", name="a.pdf"))
            printed_letter(clinic, patient=patient)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fhir.get("Communication", {"_count": 100}).status_code == 200
        return len(captured)

    fhir.get("Organization")  # the token's first use of the minute records it; the pages below are not the first
    add(1)
    few = queries()
    add(5)
    assert queries() == few


# --- Task ------------------------------------------------------------------------------------------------------


def test_a_task_about_a_patients_visit(fhir, clinic):
    # given a call-the-patient task given to the provider, written by the desk, due Friday, with two notes
    seen = visit(clinic, clinic.patient)
    work = task(clinic, title="Call about results", details="Lab came back.", kind=StaffTaskKind.CALL,
                assignee=clinic.provider, assignee_role="", patient=clinic.patient, appointment=seen,
                created_by=clinic.actor, due_on=date(2027, 3, 12))
    TaskNote.objects.create(task=work, author=clinic.provider, text="Left a voicemail.")
    TaskNote.objects.create(task=work, author=clinic.actor, text="Patient called back.")
    # when
    body = valid(FhirTask, fhir.get(f"Task/{work.pk}"))
    # then
    assert body["id"] == str(work.pk) and body["status"] == "requested" and body["intent"] == "order"
    assert body["code"] == {"coding": [{"system": "urn:clinicdesk:staff-task-kind", "code": "call",
                                        "display": "Call the patient"}], "text": "Call the patient"}
    assert body["description"] == "Call about results\n\nLab came back."
    assert body["for"] == {"reference": f"Patient/{clinic.patient.public_id}", "display": clinic.patient.display_name}
    assert body["focus"] == {"reference": f"Appointment/{seen.public_id}"}
    assert body["owner"] == {"reference": f"Practitioner/{clinic.provider.pk}", "display": clinic.provider.get_full_name()}
    assert body["requester"] == {"display": clinic.actor.get_full_name()}  # the desk is not served as Practitioner
    assert body["restriction"] == {"period": {"end": "2027-03-12"}}
    assert body["authoredOn"] == "2027-03-10T12:00:00Z" and body["lastModified"] == "2027-03-10T12:00:00Z"
    assert [n["text"] for n in body["note"]] == ["Left a voicemail.", "Patient called back."]
    assert body["note"][0]["authorReference"]["reference"] == f"Practitioner/{clinic.provider.pk}"
    event = AuditEvent.objects.get(action="staff_task.viewed")
    assert event.patient_id == clinic.patient.pk and event.channel == AuditChannel.API


def test_a_done_task_for_a_role_with_no_patient(fhir, clinic):
    work = task(clinic, status=StaffTaskStatus.DONE, completed_at=at(10, 11), assignee_role=Role.BILLER)
    body = valid(FhirTask, fhir.get(f"Task/{work.pk}"))
    assert body["status"] == "completed" and body["executionPeriod"] == {"end": "2027-03-10T11:00:00Z"}
    assert body["owner"] == {"display": "Anyone in the biller role"}
    assert "for" not in body and "restriction" not in body and "note" not in body
    assert not AuditEvent.objects.filter(action__startswith="staff_task.").exists()  # no patient's data was read


def test_task_search_filters(fhir, clinic):
    nurse = UserFactory(organization=clinic.organization, role=Role.NURSE)
    other = PatientFactory(organization=clinic.organization)
    a = task(clinic, patient=clinic.patient, assignee=nurse, kind=StaffTaskKind.CALL)
    b = task(clinic, patient=other, status=StaffTaskStatus.CANCELLED, kind=StaffTaskKind.REVIEW)
    c = task(clinic, status=StaffTaskStatus.DONE, assignee=nurse)

    def found(params) -> set[str]:
        return set(ids(fhir.get("Task", params)))

    assert found({}) == {str(t.pk) for t in (a, b, c)}
    assert found({"patient": f"Patient/{clinic.patient.public_id}"}) == {str(a.pk)}
    assert found({"owner": f"Practitioner/{nurse.pk}"}) == {str(a.pk), str(c.pk)}
    assert found({"status": "requested"}) == {str(a.pk)}
    assert found({"status": "cancelled,completed"}) == {str(b.pk), str(c.pk)}
    assert found({"status": "in-progress"}) == set()
    assert found({"code": "review"}) == {str(b.pk)}
    assert found({"_id": f"{a.pk},{c.pk}", "owner": str(nurse.pk)}) == {str(a.pk), str(c.pk)}
    assert found({"authored-on": "2027-03-10"}) == {str(t.pk) for t in (a, b, c)}
    assert found({"authored-on": "lt2027-03-10"}) == set()
    assert found({"modified": "ge2027-03-11"}) == set()


@pytest.mark.parametrize(("params", "name"), [
    ({"status": "open"}, "status"), ({"owner": "Patient/abc"}, "owner"), ({"owner": "Practitioner/x"}, "owner"),
    ({"code": "urgent"}, "code"), ({"authored-on": "2027-13-01"}, "authored-on"), ({"_id": "abc"}, "_id"),
    ({"due": "2027-03-12"}, "due"),
])
def test_bad_task_parameters_are_named(fhir, clinic, params, name):
    response = fhir.get("Task", params)
    assert response.status_code == 400 and expressions(response) == [name]


def test_task_search_pages_and_audits_the_tasks_that_name_a_patient(fhir, clinic):
    for _ in range(2):
        task(clinic, patient=clinic.patient)
    task(clinic)
    body = valid(Bundle, fhir.get("Task", {"_count": 2}))
    assert body["total"] == 3 and len(body["entry"]) == 2
    named = sum(1 for e in body["entry"] if "for" in e["resource"])
    assert AuditEvent.objects.filter(action="staff_task.listed", patient_id=clinic.patient.pk).count() == named
    assert AuditEvent.objects.filter(action="staff_task.listed").count() == named


def test_another_practices_tasks_are_never_seen(fhir, clinic):
    other = Clinic.build()
    theirs = task(other, patient=other.patient)
    mine = task(clinic)
    assert fhir.get(f"Task/{theirs.pk}").status_code == 404
    assert ids(fhir.get("Task")) == [str(mine.pk)]
    assert ids(fhir.get("Task", {"patient": other.patient.public_id})) == []


def test_task_needs_the_scope_and_the_task_and_patient_permissions(fhir_as, clinic):
    work = task(clinic, patient=clinic.patient)
    response = fhir_as(clinic.actor, scopes=["user/Communication.read"]).get(f"Task/{work.pk}")
    assert response.status_code == 403 and "user/Task.read" in issues(response)[0]["diagnostics"]
    auditor = UserFactory(organization=clinic.organization, role=Role.AUDITOR)
    assert fhir_as(auditor, scopes=["user/*.read"]).get(f"Task/{work.pk}").status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="staff_task.").exists()
    assert fhir_as(clinic.actor, scopes=["user/Task.read"]).get(f"Task/{work.pk}").status_code == 200


def test_a_task_page_costs_the_same_queries_whatever_its_size(fhir, clinic):
    def add(count):
        for _ in range(count):
            patient = PatientFactory(organization=clinic.organization)
            work = task(clinic, patient=patient, assignee=clinic.provider, created_by=clinic.actor,
                        appointment=visit(clinic, patient))
            TaskNote.objects.create(task=work, author=clinic.actor, text="Noted.")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fhir.get("Task", {"_count": 100}).status_code == 200
        return len(captured)

    fhir.get("Organization")
    add(1)
    few = queries()
    add(5)
    assert queries() == few


# --- both ------------------------------------------------------------------------------------------------------


def test_the_capability_statement_lists_both(client):
    body = client.get("/fhir/R4/metadata").json()
    served = {r["type"]: {p["name"] for p in r["searchParam"]} for r in body["rest"][0]["resource"]}
    assert served["Communication"] >= {"_id", "patient", "sent", "status", "category"}
    assert served["Task"] >= {"_id", "patient", "owner", "status", "authored-on", "modified"}


def test_the_bulk_export_includes_both_and_audits_their_patients(clinic, tmp_path):
    # given a message, a printed letter and two tasks (one about a patient) here, and a message elsewhere
    UserFactory(organization=clinic.organization, role=Role.ADMINISTRATOR)
    other = PatientFactory(organization=clinic.organization)
    text = message(clinic)
    letter = printed_letter(clinic, patient=other)
    work = task(clinic, patient=clinic.patient)
    task(clinic)
    elsewhere = message(Clinic.build())
    assert {"Communication", "Task"} <= set(PATIENT_TYPES)
    # when
    outdir = tmp_path / "export"
    call_command("fhir_export", str(outdir), "--organization", clinic.organization.slug, "--type", "Communication,Task")
    # then
    lines = {kind: [json.loads(line) for line in (outdir / f"{kind}.ndjson").read_text().splitlines()]
             for kind in ("Communication", "Task")}
    for resource in lines["Communication"]:
        FhirCommunication.model_validate(resource)
    assert {r["id"] for r in lines["Communication"]} == {text.public_id, f"letter-{letter.public_id}"}
    assert elsewhere.public_id not in (outdir / "Communication.ndjson").read_text()
    assert len(lines["Task"]) == 2 and str(work.pk) in {r["id"] for r in lines["Task"]}
    exported = set(AuditEvent.objects.filter(action="patient.exported").values_list("patient_id", flat=True))
    assert exported == {clinic.patient.pk, other.pk}


def test_timestamps_are_instants_with_an_offset(fhir, clinic):
    text = message(clinic, state=MessageState.SENT, sent_at=at(10) + timedelta(microseconds=5))
    assert valid(FhirCommunication, fhir.get(f"Communication/{text.public_id}"))["sent"] == "2027-03-10T09:00:00Z"
