"""The outbox page, its CSV, the message page and its buttons."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import MessageChannel, MessageState
from ..models import Message
from .factories_delivery import MessageFactory

pytestmark = pytest.mark.django_db
OUTBOX = reverse("communications:outbox")


def _messages(org, n, **kwargs):
    return [MessageFactory(organization=org, **kwargs) for _ in range(n)]


def test_the_outbox_lists_the_practices_messages_with_counts_per_state(org, other_org, front_desk, client_as):
    # given
    failed = MessageFactory(organization=org, state=MessageState.FAILED, reason="Invalid number (error 21211)",
                            patient=PatientFactory(organization=org, last_name="Okafor"))
    _messages(org, 2, state=MessageState.DELIVERED)
    MessageFactory(organization=other_org, patient=PatientFactory(organization=other_org, last_name="Elsewhereson"))
    # when
    response = client_as(front_desk).get(OUTBOX)
    # then
    assert response.status_code == 200
    text = response.text
    assert "Okafor" in text and "Invalid number (error 21211)" in text and "Elsewhereson" not in text
    counts = {value: n for value, _, n in response.context["counts"]}
    assert counts[MessageState.FAILED] == 1 and counts[MessageState.DELIVERED] == 2 and counts[MessageState.QUEUED] == 0
    listed = AuditEvent.objects.filter(action="message.listed", actor_id=front_desk.pk)
    assert listed.count() == 3 and listed.filter(patient_id=failed.patient_id).exists()


def test_filters_narrow_the_list_and_bad_ones_name_the_field(org, front_desk, client_as):
    MessageFactory(organization=org, state=MessageState.FAILED, patient=PatientFactory(organization=org, last_name="Quist"))
    MessageFactory(organization=org, channel=MessageChannel.EMAIL, patient=PatientFactory(organization=org, last_name="Berg"))
    client = client_as(front_desk)
    failed = client.get(OUTBOX, {"state": "failed"}).text
    assert "Quist" in failed and "Berg" not in failed
    by_patient = client.get(OUTBOX, {"patient_query": "ber"}).text
    assert "Berg" in by_patient and "Quist" not in by_patient
    bad = client.get(OUTBOX, {"state": "lost", "date_from": "2026-13-01"})
    assert bad.status_code == 400 and "lost" in bad.text and "Enter a valid date" in bad.text
    backwards = client.get(OUTBOX, {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert backwards.status_code == 400 and "before its start" in backwards.text


def test_the_outbox_page_costs_the_same_queries_for_few_or_many_messages(org, front_desk, client_as):
    client = client_as(front_desk)
    _messages(org, 3)
    client.get(OUTBOX)
    with CaptureQueriesContext(connection) as few:
        client.get(OUTBOX)
    _messages(org, 30, state=MessageState.SENT)
    with CaptureQueriesContext(connection) as many:
        assert client.get(OUTBOX).status_code == 200
    assert len(many) == len(few)


def test_the_csv_export_is_audited(org, front_desk, client_as):
    message = MessageFactory(organization=org, patient=PatientFactory(organization=org, last_name="Lindqvist"))
    response = client_as(front_desk).get(reverse("communications:outbox_export"))
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200 and "Lindqvist" in body and message.public_id in body
    assert AuditEvent.objects.filter(action="message.exported", patient_id=message.patient_id).count() == 1


def test_the_message_page_shows_its_history_and_other_practices_get_404(org, other_org, front_desk, client_as):
    message = MessageFactory(organization=org)
    theirs = MessageFactory(organization=other_org)
    client = client_as(front_desk)
    page = client.get(reverse("communications:outbox_detail", args=[message.public_id]))
    assert page.status_code == 200 and message.body in page.text
    assert AuditEvent.objects.filter(action="message.viewed", patient_id=message.patient_id).count() == 1
    assert client.get(reverse("communications:outbox_detail", args=[theirs.public_id])).status_code == 404
    assert client.post(reverse("communications:outbox_cancel", args=[theirs.public_id])).status_code == 404


def test_send_again_and_cancel_buttons(org, front_desk, make_user, client_as, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    failed = MessageFactory(organization=org, state=MessageState.FAILED, reason="Unreachable")
    queued = MessageFactory(organization=org)
    client = client_as(front_desk)
    response = client.post(reverse("communications:outbox_send_again", args=[failed.public_id]), follow=True)
    again = Message.objects.get(idempotency_key=f"again:{failed.public_id}:1")
    assert again.public_id in response.text and again.state == MessageState.QUEUED
    client.post(reverse("communications:outbox_cancel", args=[queued.public_id]))
    queued.refresh_from_db()
    assert queued.state == MessageState.SUPPRESSED
    refused = client.post(reverse("communications:outbox_cancel", args=[queued.public_id]), follow=True)
    assert "Only a queued message can be cancelled" in refused.text
    auditor = client_as(make_user(Role.AUDITOR, username="reader"))
    assert auditor.post(reverse("communications:outbox_send_again", args=[failed.public_id])).status_code == 403


def test_the_demo_outbox_is_lively_and_seeds_once(org, front_desk, client_as):
    from types import SimpleNamespace

    from ..demo_outbox import seed

    PatientFactory.create_batch(20, organization=org)
    added = seed(SimpleNamespace(organization=org), patients=20, seed=7)
    assert added >= 10 and seed(SimpleNamespace(organization=org), patients=20, seed=7) == 0
    states = set(Message.objects.filter(organization=org).values_list("state", flat=True))
    assert {MessageState.DELIVERED, MessageState.QUEUED} <= states
    assert client_as(front_desk).get(OUTBOX).status_code == 200
