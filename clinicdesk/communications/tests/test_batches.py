"""Queueing and sending in batches: message_queue_many under message_queue's rules, the batch claim (exactly
once with two concurrent claimers), the batch send and its bulk records, and the lean path for machine calls."""

from __future__ import annotations

import base64
import io
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.patients.choices import ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.patients.tests.factories import PatientFactory

from ..channels import sms
from ..choices import MessageChannel, MessageState
from ..gateway.models import GatewayMessage
from ..models import Message, MessageEvent
from ..services import delivery
from ..services.delivery import _claim_many, messages_deliver
from ..services.outbox import OutgoingMessage, message_queue, message_queue_many
from . import factories_delivery
from .factories_delivery import MessageFactory

local_gateway = factories_delivery.local_gateway  # the fixture, shared by the delivery tests
BODY = "Reminder: your visit is Tue at 10:30. Reply C to confirm."


def _sms(patient, key, **fields) -> OutgoingMessage:
    return OutgoingMessage(channel=MessageChannel.SMS, body=fields.pop("body", BODY), idempotency_key=key,
                           patient=patient, mind_quiet_hours=fields.pop("mind_quiet_hours", False), **fields)


def _batch_tasks() -> list[list[int]]:
    return [t.args_kwargs["kwargs"]["message_ids"]
            for t in DBTaskResult.objects.filter(task_path="clinicdesk.communications.tasks.message_send_batch")]


# --- queueing in bulk ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_queue_many_keeps_every_rule_of_message_queue(org):
    # given: one message queued before, an opted-out patient, one without a mobile, a sensitive text
    patients = [PatientFactory(organization=org, phone_mobile=f"+1202555{n:04d}") for n in range(4)]
    CommunicationConsent.objects.create(patient=patients[1], channel=MessageChannel.SMS, status=ConsentStatus.OPTED_OUT)
    no_mobile = PatientFactory(organization=org, phone_mobile="")
    earlier = message_queue(organization=org, channel=MessageChannel.SMS, body=BODY, idempotency_key="k0",
                            patient=patients[0], mind_quiet_hours=False)
    DBTaskResult.objects.all().delete()
    # when
    with transaction.atomic():
        got = message_queue_many(organization=org, messages=[
            _sms(patients[0], "k0"), _sms(patients[1], "k1"), _sms(no_mobile, "k2"),
            _sms(patients[2], "k3", body="Your biopsy results are in."), _sms(patients[3], "k4"), _sms(patients[3], "k4"),
        ])
    # then: the known key gives the same message, a key given twice one message, each rule its reason
    assert got[0].pk == earlier.pk and got[4].pk == got[5].pk
    assert [m.state for m in got[1:5]] == [MessageState.SUPPRESSED, MessageState.SUPPRESSED, MessageState.SUPPRESSED,
                                           MessageState.QUEUED]
    assert "opted out" in got[1].reason and "No mobile number" in got[2].reason and "biopsy" in got[3].reason
    assert got[4].to_address == patients[3].phone_mobile
    assert Message.objects.count() == 5
    # each new message has its event and its audit row; only the one due now goes to the workers, in one task
    assert MessageEvent.objects.filter(message__in=got[1:5]).count() == 4
    assert AuditEvent.objects.filter(action="message.suppressed", target_id__in=[str(m.pk) for m in got[1:4]]).count() == 3
    assert AuditEvent.objects.filter(action="message.queued", target_id=str(got[4].pk)).count() == 1
    assert _batch_tasks() == [[got[4].pk]]


def test_queue_many_moves_texts_out_of_quiet_hours_per_location(org, settings):
    settings.COMMUNICATIONS_QUIET_HOURS = ("21:00", "08:00")
    east = LocationFactory(organization=org, time_zone="America/New_York")
    west = LocationFactory(organization=org, time_zone="America/Los_Angeles")
    patient = PatientFactory(organization=org, phone_mobile="+12025550100")
    late = datetime(2030, 1, 15, 3, 0, tzinfo=UTC)  # 22:00 in New York, 19:00 in Los Angeles
    east_msg, west_msg = message_queue_many(organization=org, messages=[
        _sms(patient, "east", location=east, send_after=late, mind_quiet_hours=True),
        _sms(patient, "west", location=west, send_after=late, mind_quiet_hours=True),
    ])
    assert east_msg.send_after == datetime(2030, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert west_msg.send_after == late


def test_queue_many_refuses_a_patient_of_another_practice_and_saves_nothing(org, other_org):
    ours = PatientFactory(organization=org, phone_mobile="+12025550100")
    theirs = PatientFactory(organization=other_org, phone_mobile="+12025550101")
    with pytest.raises(ValidationError) as caught:
        message_queue_many(organization=org, messages=[_sms(ours, "a"), _sms(theirs, "b")])
    assert "patient" in caught.value.message_dict
    assert not Message.objects.exists()


def test_queue_many_uses_a_fixed_number_of_queries(org, django_assert_max_num_queries):
    patients = [PatientFactory(organization=org, phone_mobile=f"+1202555{n:04d}") for n in range(40)]
    with django_assert_max_num_queries(12), transaction.atomic():
        message_queue_many(organization=org, messages=[_sms(p, f"q{p.pk}") for p in patients])
    assert Message.objects.filter(state=MessageState.QUEUED).count() == 40


def test_single_messages_queued_in_one_transaction_go_out_in_shared_batches(org, settings,
                                                                           django_capture_on_commit_callbacks):
    settings.MESSAGE_SEND_BATCH = 3
    patients = [PatientFactory(organization=org, phone_mobile=f"+1202555{n:04d}") for n in range(7)]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        queued = [message_queue(organization=org, channel=MessageChannel.SMS, body=BODY, idempotency_key=f"s{n}",
                                patient=p, mind_quiet_hours=False) for n, p in enumerate(patients)]
    batches = _batch_tasks()
    assert sorted(len(b) for b in batches) == [1, 3, 3]
    assert sorted(pk for b in batches for pk in b) == sorted(m.pk for m in queued)


# --- the batch claim ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claimers_never_claim_one_message_twice(org):
    # given: 60 due messages, and two workers claiming the same ids at the same moment
    messages = [MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile=f"+1202555{n:04d}"))
                for n in range(60)]
    ids = [m.pk for m in messages]
    start = threading.Barrier(2)
    claimed: dict[str, list[int]] = {}

    def claimer(name: str, order: list[int]) -> None:
        try:
            start.wait()
            claimed[name] = _claim_many(order)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=("a", ids)), threading.Thread(target=claimer, args=("b", ids[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then: every message claimed once, by one of them, with one attempt
    assert not set(claimed["a"]) & set(claimed["b"])
    assert sorted(claimed["a"] + claimed["b"]) == sorted(ids)
    assert set(Message.objects.values_list("state", "attempts")) == {(MessageState.SENDING, 1)}
    # and a third claim finds nothing until a lease runs out
    assert _claim_many(ids) == []
    Message.objects.filter(pk=ids[0]).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert _claim_many(ids) == [ids[0]]


def test_the_claim_skips_messages_not_due_and_unknown_ids(org):
    due = MessageFactory(organization=org)
    later = MessageFactory(organization=org, send_after=timezone.now() + timedelta(hours=1))
    retry_later = MessageFactory(organization=org, next_attempt_at=timezone.now() + timedelta(minutes=5))
    done = MessageFactory(organization=org, state=MessageState.SENT)
    assert _claim_many([due.pk, later.pk, retry_later.pk, done.pk, 999_999_999]) == [due.pk]


# --- sending and recording a batch ----------------------------------------------------------------------------


def test_a_batch_is_sent_once_and_recorded_in_bulk(org, local_gateway, settings):
    # given: a batch with a normal text, an opted-out patient, a refused number and a gateway that is down
    settings.MESSAGE_SEND_CONCURRENCY = 1  # the in-process gateway shares the test's connection and thread
    fine = [MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile=f"+1202555{n:04d}"))
            for n in range(5)]
    opted = MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile="+12025550900"))
    CommunicationConsent.objects.create(patient=opted.patient, channel=MessageChannel.SMS, status=ConsentStatus.OPTED_OUT)
    refused = MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile="+15005550001"))
    down = MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile="+15005550100"))
    ids = [m.pk for m in [*fine, opted, refused, down]]
    # when
    outcomes = messages_deliver(message_ids=ids)
    again = messages_deliver(message_ids=ids)
    # then
    assert [outcomes[m.pk] for m in fine] == ["sent"] * 5
    assert (outcomes[opted.pk], outcomes[refused.pk], outcomes[down.pk]) == ("suppressed", "failed", "retry")
    assert set(again.values()) == {"skipped"}
    texts = dict(GatewayMessage.objects.values_list("idempotency_key", "sid"))
    for message in fine:
        message.refresh_from_db()
        assert message.state in (MessageState.SENT, MessageState.DELIVERED) and message.sent_at
        assert message.provider_message_id == texts[message.idempotency_key]
        assert message.events.filter(state=MessageState.SENT).count() == 1
        assert AuditEvent.objects.filter(action="message.sent", target_id=str(message.pk),
                                         patient_id=message.patient_id).count() == 1
    assert len(texts) == 5


def test_a_send_whose_lease_ran_out_before_its_turn_goes_back_to_the_queue_untried(
        org, local_gateway, settings, django_capture_on_commit_callbacks):
    settings.MESSAGE_SEND_LEASE_SECONDS = 0
    message = MessageFactory(organization=org)
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_deliver(message_ids=[message.pk]) == {message.pk: "released"}
    message.refresh_from_db()
    assert (message.state, message.attempts, message.claimed_until) == (MessageState.QUEUED, 0, None)
    assert not GatewayMessage.objects.exists()
    assert _batch_tasks() == [[message.pk]]


def test_a_batch_sends_several_at_a_time_each_with_its_own_key(org, settings, monkeypatch):
    # given: a provider that answers each text with a new id (a mock of the hosted API, which tests cannot reach)
    settings.MESSAGE_SEND_CONCURRENCY = 3
    settings.SMS_API_BASE_URL, settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN = "https://sms.test", "AC" + "2" * 32, "t"
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            seen.append((request.headers["Idempotency-Key"], threading.current_thread().name))
            sid = f"SM{len(seen):032d}"
        return httpx.Response(201, json={"sid": sid, "status": "queued"})

    monkeypatch.setattr(sms, "_client", lambda timeout: httpx.Client(transport=httpx.MockTransport(answer)))
    messages = [MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile=f"+1202555{n:04d}"))
                for n in range(9)]
    # when
    outcomes = messages_deliver(message_ids=[m.pk for m in messages])
    # then: each sent once, under its own key, from the send threads; each recorded with the id it got
    assert set(outcomes.values()) == {"sent"}
    assert sorted(key for key, _ in seen) == sorted(m.idempotency_key for m in messages)
    assert all(name.startswith("message-send") for _, name in seen)
    assert len({m.provider_message_id for m in Message.objects.all()}) == 9


def test_the_dispatcher_hands_out_due_messages_in_batches(org, settings):
    settings.MESSAGE_SEND_BATCH = 4
    messages = [MessageFactory(organization=org) for _ in range(10)]
    assert delivery.outbox_dispatch_due() == 10
    assert sorted(len(b) for b in _batch_tasks()) == [2, 4, 4]
    assert sorted(pk for b in _batch_tasks() for pk in b) == sorted(m.pk for m in messages)


# --- the lean path for machine calls ------------------------------------------------------------------------


def _call(app, path: str, *, data: dict | None = None, headers: dict | None = None, query: str = "") -> tuple[str, bytes]:
    body = urlencode(data or {}).encode()
    environ = {"REQUEST_METHOD": "POST" if data is not None else "GET", "PATH_INFO": path, "QUERY_STRING": query,
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "REMOTE_ADDR": "127.0.0.1", "wsgi.errors": io.StringIO()}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()})
    status: list[str] = []
    # As Django's test client does: the handler would otherwise close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, lambda s, h, exc_info=None: status.append(s))
        return (status or [""])[0], b"".join(chunks)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_gateway_calls_and_receipts_take_the_lean_path_with_their_own_checks(org, local_gateway, settings):
    from ..channels.sms import twilio_signature
    from ..gateway.wsgi import MachineCallsHandler, split_machine_calls

    pages = []
    app = split_machine_calls(lambda environ, start_response: pages.append(environ["PATH_INFO"]) or [b""])
    api = f"/sms-gateway/2010-04-01/Accounts/{settings.SMS_ACCOUNT_SID}/Messages.json"
    auth = "Basic " + base64.b64encode(f"{settings.SMS_ACCOUNT_SID}:{settings.SMS_AUTH_TOKEN}".encode()).decode()
    form = {"To": "+12025550100", "From": "+15005550006", "Body": "Hello"}
    # without the account's credentials: refused
    assert _call(app, api, data=form)[0].startswith("403")
    # with them: taken, once per key
    assert _call(app, api, data=form, headers={"Authorization": auth, "Idempotency-Key": "lean-1"})[0].startswith("201")
    assert _call(app, api, data=form, headers={"Authorization": auth, "Idempotency-Key": "lean-1"})[0].startswith("201")
    assert GatewayMessage.objects.count() == 1
    # a receipt with a forged signature is refused; a signed one moves the message on
    message = MessageFactory(organization=org, state=MessageState.SENDING)
    query = f"m={message.public_id}"
    receipt = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"}
    signature = twilio_signature(f"{settings.PUBLIC_BASE_URL}/webhooks/sms/status/?{query}", receipt, settings.SMS_AUTH_TOKEN)
    assert _call(app, "/webhooks/sms/status/", data=receipt, query=query, headers={"X-Twilio-Signature": "x"})[0].startswith("403")
    assert _call(app, "/webhooks/sms/status/", data=receipt, query=query,
                 headers={"X-Twilio-Signature": signature})[0].startswith("200")
    message.refresh_from_db()
    assert message.state == MessageState.DELIVERED and message.provider_message_id == "SM" + "a" * 32
    # the phone page and everything else go to the full application
    _call(app, "/sms-gateway/phone/")
    assert pages == ["/sms-gateway/phone/"]
    assert _call(MachineCallsHandler(), "/sms-gateway/2010-04-01/Accounts/x/Nope.json")[0].startswith("404")
