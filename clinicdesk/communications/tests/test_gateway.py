"""The local SMS gateway: the provider's API (auth, test numbers, idempotency), receipts, and the phone page."""

import base64

import pytest
from django.urls import reverse

from clinicdesk.core.permissions import Perm  # noqa: F401
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import InboundAction, MessageState
from ..gateway.models import GatewayDirection, GatewayMessage, GatewayStatus
from ..gateway.receipts import receipts_deliver
from ..models import InboundMessage, Message
from ..services.delivery import message_deliver
from . import factories_delivery
from .factories_delivery import MessageFactory

local_gateway = factories_delivery.local_gateway  # the fixture, shared by the delivery tests

pytestmark = pytest.mark.django_db


def _post(client, settings, data, *, key="", token=None):
    auth = base64.b64encode(f"{settings.SMS_ACCOUNT_SID}:{token or settings.SMS_AUTH_TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}"} | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/sms-gateway/2010-04-01/Accounts/{settings.SMS_ACCOUNT_SID}/Messages.json", data=data,
                       headers=headers)


def test_one_idempotency_key_is_one_text(local_gateway, settings):
    data = {"To": "+12025550100", "From": "+15005550006", "Body": "Hi"}
    first = _post(local_gateway, settings, data, key="reminder:1")
    again = _post(local_gateway, settings, {**data, "Body": "Changed"}, key="reminder:1")
    other = _post(local_gateway, settings, data, key="reminder:2")
    assert first.status_code == again.status_code == other.status_code == 201
    assert first.json()["sid"] == again.json()["sid"] != other.json()["sid"]
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["body"] == "Hi"
    assert GatewayMessage.objects.count() == 2
    reply = first.json()
    assert reply["status"] == "queued" and reply["direction"] == "outbound-api" and reply["error_code"] is None


def test_the_gateway_checks_basic_auth_and_the_numbers(local_gateway, settings):
    data = {"To": "+12025550100", "From": "+15005550006", "Body": "Hi"}
    denied = _post(local_gateway, settings, data, token="nope")
    assert denied.status_code == 403 and denied.json()["code"] == 20003
    assert _post(local_gateway, settings, {**data, "From": "clinic"}).json()["code"] == 21212
    assert _post(local_gateway, settings, {**data, "Body": ""}).json()["code"] == 21602
    assert _post(local_gateway, settings, {**data, "To": "+15005550009"}).json()["code"] == 21614
    down = _post(local_gateway, settings, {**data, "To": "+15005550199"})
    assert down.status_code == 503
    assert GatewayMessage.objects.count() == 0


def test_receipts_take_a_message_to_delivered_and_are_signed(org, local_gateway, settings):
    # given: a reminder the gateway took
    message = MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile="+12025550101"))
    message_deliver(message_id=message.pk)
    text = GatewayMessage.objects.get()
    # when
    steps = receipts_deliver(text.sid)
    # then
    message.refresh_from_db()
    text.refresh_from_db()
    # only the final status is posted (the provider may skip "sent" too)
    assert steps == ["delivered"] and text.status == GatewayStatus.DELIVERED
    assert message.state == MessageState.DELIVERED and message.delivered_at
    assert list(message.events.values_list("state", flat=True)) == [MessageState.SENT, MessageState.DELIVERED]
    assert receipts_deliver(text.sid) == []  # once only


def test_an_unreachable_handset_ends_failed_with_the_carriers_error(org, local_gateway):
    message = MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile="+15005550301"))
    message_deliver(message_id=message.pk)
    receipts_deliver(GatewayMessage.objects.get().sid)
    message.refresh_from_db()
    assert message.state == MessageState.FAILED and "30003" in message.reason


def test_the_phone_page_shows_only_the_practices_numbers_and_sends_replies(
        org, other_org, local_gateway, make_user, client_as, django_capture_on_commit_callbacks):
    # given: our practice texted one number, another practice another
    mine = MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile="+12025550102"))
    theirs = MessageFactory(organization=other_org,
                            patient=PatientFactory(organization=other_org, phone_mobile="+12025550103"))
    message_deliver(message_id=mine.pk)
    message_deliver(message_id=theirs.pk)
    client = client_as(make_user("front_desk"))
    phone = reverse("communications_public:sms_gateway:phone")
    # when / then: the list and the threads
    page = client.get(phone)
    assert "+12025550102" in page.text and "+12025550103" not in page.text
    assert mine.body in client.get(phone, {"number": "+12025550102"}).text
    assert client.get(phone, {"number": "+12025550103"}).status_code == 404
    # when: the patient replies STOP from the phone page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("communications_public:sms_gateway:phone_reply"),
                               {"number": "+12025550102", "body": "STOP"})
    # then: our inbound webhook received it, matched the patient and withdrew consent
    assert response.status_code == 302
    inbound = InboundMessage.objects.get()
    assert inbound.patient_id == mine.patient_id and inbound.in_reply_to_id == mine.pk
    assert inbound.action == InboundAction.OPTED_OUT and inbound.organization_id == org.pk
    assert CommunicationConsent.objects.get(patient=mine.patient, channel=Channel.SMS).status == ConsentStatus.OPTED_OUT
    assert GatewayMessage.objects.filter(direction=GatewayDirection.INBOUND).count() == 1
    # a number we never texted cannot be replied from
    client.post(reverse("communications_public:sms_gateway:phone_reply"), {"number": "+12025550103", "body": "hi"})
    assert InboundMessage.objects.count() == 1 and Message.objects.count() == 2


def test_receipts_of_many_texts_are_written_at_once_and_each_posted_once(org, local_gateway, settings,
                                                                       django_assert_max_num_queries):
    from ..gateway import receipts
    from ..gateway.receipts import receipts_deliver_many

    # given: three texts the gateway took, one to a handset that cannot be reached
    numbers = ["+12025550102", "+12025550103", "+15005550302"]
    messages = [MessageFactory(organization=org, patient=PatientFactory(organization=org, phone_mobile=n))
                for n in numbers]
    for message in messages:
        message_deliver(message_id=message.pk)
    sids = list(GatewayMessage.objects.order_by("pk").values_list("sid", flat=True))
    posted = []
    webhook = receipts.poster
    receipts.poster = lambda url, data, headers: posted.append(data["MessageSid"]) or 200
    try:
        # when: their receipts are written in one go (the posts are counted apart)
        with django_assert_max_num_queries(5):  # the locking read, an UPDATE per status, the savepoint
            steps = receipts_deliver_many([*sids, "SMunknown"])
        again = receipts_deliver_many(sids)
    finally:
        receipts.poster = webhook
    # then each text's final status is written and posted once, and a second call posts nothing
    assert steps == {sids[0]: ["delivered"], sids[1]: ["delivered"], sids[2]: ["undelivered"]}
    assert sorted(posted) == sorted(sids) and again == {}
    statuses = dict(GatewayMessage.objects.values_list("sid", "status"))
    assert [statuses[s] for s in sids] == [GatewayStatus.DELIVERED, GatewayStatus.DELIVERED, GatewayStatus.UNDELIVERED]
    assert GatewayMessage.objects.get(sid=sids[2]).error_code == 30003
    # and posted for real, the receipts take the messages to delivered and failed
    for sid in sids:
        GatewayMessage.objects.filter(sid=sid).update(status=GatewayStatus.QUEUED)
    receipts_deliver_many(sids)
    states = [Message.objects.get(pk=m.pk).state for m in messages]
    assert states == [MessageState.DELIVERED, MessageState.DELIVERED, MessageState.FAILED]
