"""Factories and fixtures of the delivery tests: outbox messages, and the local SMS gateway reached over real
HTTP requests handled in-process (httpx's WSGI transport into Django's test handler), so the adapter, the
gateway's API and the webhooks all run their real code within the test's transaction."""

from __future__ import annotations

import factory
import httpx
import pytest
from django.test.client import ClientHandler

from clinicdesk.core.tests.factories import OrganizationFactory
from clinicdesk.patients.tests.factories import PatientFactory

from ..channels import sms
from ..choices import MessageChannel, MessagePurpose, MessageState
from ..gateway import receipts
from ..models import Message

TEST_BASE = "http://testserver"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    channel = MessageChannel.SMS
    purpose = MessagePurpose.REMINDER
    state = MessageState.QUEUED
    to_address = factory.LazyAttribute(lambda m: m.patient.phone_mobile if m.channel == MessageChannel.SMS
                                       else m.patient.email)
    body = "Reminder: your visit is Tue at 10:30. Reply C to confirm."
    idempotency_key = factory.Sequence(lambda n: f"test-message:{n}")


class _InProcessWsgi:
    """A WSGI app over Django's test handler (which keeps the test's database connection open)."""

    def __init__(self) -> None:
        self.handler = ClientHandler(enforce_csrf_checks=True)

    def __call__(self, environ, start_response):
        response = self.handler(environ)
        headers = [(k, v) for k, v in response.items()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [b"".join(response.streaming_content) if response.streaming else response.content]


@pytest.fixture
def local_gateway(settings):
    """The local gateway at http://testserver/sms-gateway, its receipts and replies posted back in-process."""
    settings.PUBLIC_BASE_URL = TEST_BASE
    settings.SMS_API_BASE_URL = f"{TEST_BASE}/sms-gateway"
    settings.SMS_ACCOUNT_SID = "AC" + "1" * 32
    settings.SMS_AUTH_TOKEN = "test-auth-token"
    settings.SMS_FROM_NUMBER = "+15005550006"
    settings.SMS_GATEWAY_RECEIPTS = False
    settings.SMS_GATEWAY_STALL_SECONDS = 0
    client = httpx.Client(transport=httpx.WSGITransport(app=_InProcessWsgi()), base_url=TEST_BASE)
    previous_client, previous_poster = getattr(sms._clients, "client", None), receipts.poster
    sms._clients.client = client
    receipts.poster = lambda url, data, headers: client.post(url, data=data, headers=headers).status_code
    yield client
    sms._clients.client = previous_client
    receipts.poster = previous_poster
    client.close()
