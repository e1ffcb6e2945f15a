"""The call log and the callback queue: the services' rules, the pages, the CSV and the audit trail."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone
from freezegun import freeze_time

from clinicdesk.core.choices import AuditChannel, Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import UserFactory
from clinicdesk.patients.tests.factories import PatientFactory
from clinicdesk.scheduling.choices import CallDirection, CallOutcome, CallReason
from clinicdesk.scheduling.models import PhoneCall
from clinicdesk.scheduling.selectors.front_desk import callback_queue
from clinicdesk.scheduling.services.calls import phone_call_assign, phone_call_callback_done, phone_call_log

pytestmark = pytest.mark.django_db

NOW = "2027-03-10T15:00:00Z"  # Wednesday 10:00 in New York


@pytest.fixture(autouse=True)
def _urls_loaded():
    """Load the URLconf (and the API's schemas) before any test freezes the clock: pydantic cannot build
    a schema for freezegun's fake date class."""
    assert get_resolver().url_patterns


@pytest.fixture
def patient(org):
    return PatientFactory(organization=org, first_name="Ana", last_name="Alvarez", mrn="T0000042")


def log(actor, **overrides):
    args = {"actor": actor, "reason": CallReason.RESCHEDULE, "outcome": CallOutcome.MESSAGE_TAKEN, "notes": "Wants Tuesday"}
    args.update(overrides)
    return phone_call_log(**args)


def later(hours: float):
    return timezone.now() + timedelta(hours=hours)


# --- services ---------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_logs_a_call_with_a_callback_and_audits_it(front_desk, patient):
    # when
    call = log(front_desk, patient=patient, callback_needed=True, callback_due=later(2), assigned_to=front_desk)
    # then
    call.refresh_from_db()
    assert (call.organization_id, call.patient, call.taken_by, call.assigned_to) == (
        front_desk.organization_id, patient, front_desk, front_desk)
    assert call.callback_due == later(2) and call.callback_done_at is None
    event = AuditEvent.objects.get(action="phonecall.created")
    assert (event.actor_id, event.patient_id, event.target_id) == (front_desk.pk, patient.pk, str(call.pk))


@freeze_time(NOW)
def test_a_caller_who_is_not_a_patient_needs_a_name_or_number(front_desk):
    call = log(front_desk, caller_name="Pharmacy on 5th", phone="(212) 555-0143", direction=CallDirection.INBOUND)
    assert call.patient is None and call.phone == "+12125550143"
    with pytest.raises(ValidationError) as caught:
        log(front_desk)
    assert set(caught.value.message_dict) == {"patient"}
    assert PhoneCall.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"callback_needed": True}, "callback_due"),
        ({"callback_due": "LATER"}, "callback_due"),
        ({"callback_needed": True, "callback_due": "PAST"}, "callback_due"),
        ({"phone": "12"}, "phone"),
        ({"reason": "gossip"}, "reason"),
        ({"outcome": "maybe"}, "outcome"),
        ({"direction": "sideways"}, "direction"),
        ({"notes": "x" * 0, "caller_name": "y" * 200}, "caller_name"),
    ],
)
@freeze_time(NOW)
def test_bad_input_names_the_field_and_saves_nothing(front_desk, patient, overrides, field):
    overrides = dict(overrides)
    if overrides.get("callback_due") == "LATER":
        overrides["callback_due"] = later(1)
    if overrides.get("callback_due") == "PAST":
        overrides["callback_due"] = later(-3)
    with pytest.raises(ValidationError) as caught:
        log(front_desk, patient=patient, **overrides)
    assert field in caught.value.message_dict
    assert not PhoneCall.objects.exists()


@freeze_time(NOW)
def test_another_practices_patient_or_colleague_is_refused(front_desk, other_org):
    stranger = PatientFactory(organization=other_org)
    outsider = UserFactory(organization=other_org, role=Role.FRONT_DESK)
    with pytest.raises(ValidationError) as caught:
        log(front_desk, patient=stranger, callback_needed=True, callback_due=later(1), assigned_to=outsider)
    assert {"patient", "assigned_to"} <= set(caught.value.message_dict)
    assert not PhoneCall.objects.exists()


@freeze_time(NOW)
def test_a_callback_cannot_go_to_someone_who_does_not_handle_calls(front_desk, make_user, patient):
    auditor = make_user(Role.AUDITOR)
    with pytest.raises(ValidationError) as caught:
        log(front_desk, patient=patient, callback_needed=True, callback_due=later(1), assigned_to=auditor)
    assert set(caught.value.message_dict) == {"assigned_to"}


@freeze_time(NOW)
def test_callback_done_closes_it_once_and_keeps_the_note(front_desk, patient):
    call = log(front_desk, patient=patient, callback_needed=True, callback_due=later(1))
    done = phone_call_callback_done(actor=front_desk, call=call, outcome=CallOutcome.BOOKED, notes="Booked Tue 10:00")
    assert done.callback_done_at == timezone.now() and done.outcome == CallOutcome.BOOKED
    assert "Booked Tue 10:00" in done.notes and "Wants Tuesday" in done.notes
    with pytest.raises(ValidationError) as caught:
        phone_call_callback_done(actor=front_desk, call=call)
    assert "callback_done_at" in caught.value.message_dict
    assert AuditEvent.objects.filter(action="phonecall.updated", actor_id=front_desk.pk).count() == 1


@freeze_time(NOW)
def test_a_call_without_callback_cannot_be_done_or_handed_on(front_desk, patient, make_user):
    call = log(front_desk, patient=patient)
    with pytest.raises(ValidationError) as caught:
        phone_call_callback_done(actor=front_desk, call=call)
    assert "callback_needed" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        phone_call_assign(actor=front_desk, call=call, assigned_to=make_user(Role.NURSE))
    assert "assigned_to" in caught.value.message_dict


@freeze_time(NOW)
def test_queue_is_overdue_first_and_mine_filters(front_desk, make_user, patient):
    # given three open callbacks and one done
    colleague = make_user(Role.NURSE)
    soon = log(front_desk, patient=patient, callback_needed=True, callback_due=later(1), assigned_to=colleague)
    with freeze_time("2027-03-10T09:00:00Z"):
        overdue = log(front_desk, patient=patient, callback_needed=True, callback_due=later(1))
    mine = log(front_desk, patient=patient, callback_needed=True, callback_due=later(3), assigned_to=front_desk)
    done = log(front_desk, patient=patient, callback_needed=True, callback_due=later(0.5))
    phone_call_callback_done(actor=front_desk, call=done)
    # then
    assert list(callback_queue(actor=front_desk)) == [overdue, soon, mine]
    assert list(callback_queue(actor=front_desk, mine=True)) == [mine]
    phone_call_assign(actor=front_desk, call=overdue, assigned_to=front_desk)
    assert list(callback_queue(actor=front_desk, mine=True)) == [overdue, mine]


# --- pages ---------------------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_log_form_from_the_patient_page_lands_in_the_queue(client_as, front_desk, patient):
    client = client_as(front_desk)
    url = reverse("scheduling:call_log") + f"?patient={patient.public_id}"
    assert client.get(url).status_code == 200
    response = client.post(url, {
        "patient": patient.public_id, "direction": "inbound", "reason": "results", "outcome": "message_taken",
        "notes": "Asks about lab results", "callback_needed": "on", "callback_due": "2027-03-10T14:30",
        "assigned_to": front_desk.pk,
    })
    assert response.status_code == 302
    assert response["Location"].endswith(f"/patients/{patient.public_id}/?tab=calls")
    call = PhoneCall.objects.get()
    assert timezone.localtime(call.callback_due).strftime("%H:%M") == "14:30"
    queue = client.get(reverse("scheduling:callbacks") + "?mine=1").content.decode()
    assert "Alvarez, Ana" in queue and "Asks about lab results" in queue


@freeze_time(NOW)
def test_log_form_finds_the_patient_as_typed_and_asks_when_several_match(client_as, front_desk, org, patient):
    PatientFactory(organization=org, first_name="Luis", last_name="Alvarez")
    client = client_as(front_desk)
    data = {"patient_query": "alvarez", "direction": "inbound", "reason": "book", "outcome": "resolved"}
    response = client.post(reverse("scheduling:call_log"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Several patients match" in html and 'type="radio" name="patient"' in html
    response = client.post(reverse("scheduling:call_log"), {**data, "patient": patient.public_id})
    assert response.status_code == 302
    assert PhoneCall.objects.get().patient == patient


@freeze_time(NOW)
def test_log_form_shows_service_errors_on_the_field(client_as, front_desk, patient):
    response = client_as(front_desk).post(reverse("scheduling:call_log"), {
        "patient": patient.public_id, "direction": "inbound", "reason": "book", "outcome": "resolved",
        "phone": "12345",
    })
    assert response.status_code == 400
    assert "is not a valid phone number" in response.content.decode()
    assert not PhoneCall.objects.exists()


@freeze_time(NOW)
def test_done_and_take_from_the_queue(client_as, front_desk, make_user, patient):
    nurse = make_user(Role.NURSE)
    call = log(nurse, patient=patient, callback_needed=True, callback_due=later(1), assigned_to=nurse)
    client = client_as(front_desk)
    assert client.post(reverse("scheduling:callback_take", args=[call.pk])).status_code == 302
    call.refresh_from_db()
    assert call.assigned_to == front_desk
    response = client.post(reverse("scheduling:callback_done", args=[call.pk]), {"outcome": "booked", "notes": "ok", "mine": "1"})
    assert response["Location"].endswith("?mine=1")
    call.refresh_from_db()
    assert call.callback_done_at is not None and call.outcome == CallOutcome.BOOKED


def test_another_practices_call_is_not_found(client_as, front_desk, other_org):
    outsider = UserFactory(organization=other_org, role=Role.FRONT_DESK)
    call = PhoneCall.objects.create(organization=other_org, caller_name="Someone", callback_needed=True,
                                    callback_due=timezone.now(), taken_by=outsider)
    client = client_as(front_desk)
    assert client.post(reverse("scheduling:callback_done", args=[call.pk])).status_code == 404
    assert client.post(reverse("scheduling:callback_take", args=[call.pk])).status_code == 404
    assert "Someone" not in client.get(reverse("scheduling:calls")).content.decode()


def test_pages_need_the_calls_permission(client_as, auditor):
    client = client_as(auditor)
    for name in ("scheduling:calls", "scheduling:callbacks", "scheduling:call_log", "scheduling:calls_export"):
        assert client.get(reverse(name)).status_code == 403


@freeze_time(NOW)
def test_patient_calls_tab_is_an_audited_patient_read(client_as, front_desk, patient):
    log(front_desk, patient=patient, notes="Called about a refill")
    response = client_as(front_desk).get(reverse("patients:detail", args=[patient.public_id]) + "?tab=calls")
    html = response.content.decode()
    assert ">Calls</a>" in html and "Called about a refill" in html
    event = AuditEvent.objects.get(action="patient.calls_viewed")
    assert (event.actor_id, event.patient_id) == (front_desk.pk, patient.pk)


@freeze_time(NOW)
def test_calls_tab_needs_the_calls_permission():
    # every role that sees patients handles calls today, so the registration is what guards the tab
    from clinicdesk.core.permissions import Perm
    from clinicdesk.patients.views import PATIENT_TABS

    assert PATIENT_TABS["calls"].permission == Perm.CALLS


@freeze_time(NOW)
def test_csv_export_follows_the_filters_and_audits_each_patient(client_as, front_desk, org, patient):
    other = PatientFactory(organization=org, last_name="Zhang")
    log(front_desk, patient=patient, notes="=HYPERLINK(evil)")
    log(front_desk, patient=other, direction=CallDirection.OUTBOUND, reason=CallReason.BILLING)
    response = client_as(front_desk).get(reverse("scheduling:calls_export") + "?direction=inbound")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["time", "direction", "patient"]
    assert len(rows) == 2 and rows[1][2] == "Alvarez, Ana" and rows[1][8] == "'=HYPERLINK(evil)"
    assert AuditEvent.objects.filter(action="calls.exported", channel=AuditChannel.EXPORT).count() == 1
    assert list(AuditEvent.objects.filter(action="patient.exported").values_list("patient_id", flat=True)) == [patient.pk]


def test_export_refuses_bad_filters(client_as, front_desk):
    response = client_as(front_desk).get(reverse("scheduling:calls_export") + "?direction=sideways")
    assert response.status_code == 400


@freeze_time(NOW)
@pytest.mark.parametrize("name", ["scheduling:calls", "scheduling:callbacks"])
def test_list_query_count_does_not_grow_with_rows(client_as, front_desk, org, make_user, name):
    client = client_as(front_desk)
    nurse = make_user(Role.NURSE)

    def add(n):
        for _ in range(n):
            log(front_desk, patient=PatientFactory(organization=org), callback_needed=True, callback_due=later(1),
                assigned_to=nurse)

    add(2)
    client.get(reverse(name))  # warm up the session and the caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(name)).status_code == 200
    add(10)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse(name)).status_code == 200
    assert len(many) == len(few)
